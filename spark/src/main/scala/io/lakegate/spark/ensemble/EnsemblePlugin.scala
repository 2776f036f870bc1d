package io.lakegate.spark.ensemble

import java.util.{Map => JMap}
import java.util.concurrent.ConcurrentHashMap

import org.apache.spark.{TaskContext, TaskFailedReason}
import org.apache.spark.api.plugin.{DriverPlugin, ExecutorPlugin, PluginContext, SparkPlugin}

/**
 * `spark.plugins=io.lakegate.spark.ensemble.EnsemblePlugin`, required by OKERA_ENABLE_OKERA_FS:
 * at the start of each task, on its thread, it makes the task's key (see OkeraFs) inheritable by
 * the threads the task starts, and forgets it when the task ends.
 */
class EnsemblePlugin extends SparkPlugin {
  override def driverPlugin(): DriverPlugin = null

  override def executorPlugin(): ExecutorPlugin = new ExecutorPlugin {
    override def init(ctx: PluginContext, extraConf: JMap[String, String]): Unit = ()
    override def onTaskStart(): Unit = TaskKeys.start(TaskContext.get())
    override def onTaskSucceeded(): Unit = TaskKeys.end(TaskContext.get())
    override def onTaskFailed(reason: TaskFailedReason): Unit = TaskKeys.end(TaskContext.get())
  }
}

/**
 * Task keys for the threads tasks start. A thread inherits the binding of the thread that
 * created it, so a long-lived pool could carry a binding past its task: a binding counts only
 * while its task runs, and a thread no running task started gets no key.
 */
object TaskKeys {
  private final case class Binding(taskAttemptId: Long, key: Either[String, AccessKey])

  private val running = ConcurrentHashMap.newKeySet[Long]()
  private val binding = new InheritableThreadLocal[Binding]

  def start(tc: TaskContext): Unit = if (tc != null) {
    running.add(tc.taskAttemptId())
    binding.set(Binding(tc.taskAttemptId(), OkeraFs.fromTask(tc)))
  }

  def end(tc: TaskContext): Unit = {
    if (tc != null) running.remove(tc.taskAttemptId())
    binding.remove()
  }

  /** The key a task started this thread with, if that task still runs. */
  def inherited(): Option[Either[String, AccessKey]] = Option(binding.get).map { b =>
    if (running.contains(b.taskAttemptId)) b.key
    else Left(s"an S3 request on a thread started by task ${b.taskAttemptId}, which has ended")
  }
}
