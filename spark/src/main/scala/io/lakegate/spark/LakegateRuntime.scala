package io.lakegate.spark

import java.util.{Collections, WeakHashMap}

import org.apache.spark.SparkContext
import org.apache.spark.sql.SparkSession

import io.lakegate.spark.auth.{Credentials, Identity}
import io.lakegate.spark.client.{HttpPlannerClient, PlannerClient}

/** Per SparkSession state: settings, the planner client and the decision cache. */
final class LakegateRuntime(val settings: Settings, val sc: SparkContext, clientOverride: Option[PlannerClient]) {
  lazy val credentials: Credentials = new Credentials(settings)

  lazy val client: PlannerClient =
    clientOverride.getOrElse(new HttpPlannerClient(settings.plannerAddress, settings.connectTimeoutMs, settings.requestTimeoutMs))

  lazy val authorizer: Authorizer = new Authorizer(settings, client, credentials)

  /** The current user, groups and session id, from the local properties of this thread. */
  def identity(): Identity = {
    if (credentials.perUser && Py4jThreads.unpinned()) throw LakegateErrors.failure(Py4jThreads.Refusal)
    val user = Option(sc.getLocalProperty(settings.userProperty)).map(_.trim).filter(_.nonEmpty)
      .getOrElse(sc.sparkUser)
    val groups = settings.groupsProperty.flatMap(p => Option(sc.getLocalProperty(p)))
      .map(_.split(",").map(_.trim).filter(_.nonEmpty).toSeq).getOrElse(Nil)
    val sessionProperty = if (settings.sessionIdFromJobGroup) "spark.jobGroup.id" else settings.sessionIdProperty
    val sessionId = Option(sc.getLocalProperty(sessionProperty)).map(_.trim).getOrElse("")
    Identity(user, groups, sessionId)
  }
}

object LakegateRuntime {
  private val runtimes = Collections.synchronizedMap(new WeakHashMap[SparkSession, LakegateRuntime]())

  /** For unit tests: a client used instead of the HTTP one, and settings used instead of SparkConf. */
  @volatile var testClient: Option[PlannerClient] = None
  @volatile var testSettings: Option[Settings] = None

  def get(session: SparkSession): LakegateRuntime = runtimes.synchronized {
    var r = runtimes.get(session)
    if (r == null) {
      val sc = session.sparkContext
      val settings = testSettings.getOrElse(Settings.fromSparkConf(sc.getConf))
      r = new LakegateRuntime(settings, sc, testClient)
      runtimes.put(session, r)
    }
    r
  }

  /** Forget every session's state (tests switch clients and settings). */
  def resetAll(): Unit = runtimes.clear()
}

/** Marks the current thread as running lakegate's own analysis, which the rules leave alone. */
object Guard {
  private val depth = new ThreadLocal[Int] { override def initialValue(): Int = 0 }
  def active: Boolean = depth.get > 0
  def apply[T](f: => T): T = {
    depth.set(depth.get + 1)
    try f finally depth.set(depth.get - 1)
  }
}

/**
 * PySpark runs each Python thread's calls on a JVM thread of its own ("pinned threads", PySpark's
 * default since 3.2). With PYSPARK_PIN_THREAD=false, Py4J serves Python threads from a shared
 * pool of connections, each a JVM thread (`py4j.GatewayConnection`): the `user` local property a
 * Python thread sets can then land on one JVM thread and its next statement run on another, under
 * the property someone else set. In the modes where the user comes from that property, a statement
 * analysed on such a thread is refused: lakegate cannot tell who runs it.
 */
object Py4jThreads {
  private val UnpinnedRoot = "py4j.GatewayConnection"
  private val cached = new ThreadLocal[java.lang.Boolean]

  val Refusal: String = "this driver runs PySpark with pinned threads off (PYSPARK_PIN_THREAD=false): a " +
    "statement then runs on whichever JVM thread Py4J picks, not under the user property its Python thread " +
    "set, so lakegate cannot tell who runs it and refuses it. Ask the cluster administrator to keep " +
    "PYSPARK_PIN_THREAD unset or true (PySpark's default)"

  /** Is the current thread one of Py4J's unpinned connection threads? (Once per thread: a thread's root does not change.) */
  def unpinned(): Boolean = {
    var v = cached.get
    if (v == null) {
      val frames = Thread.currentThread.getStackTrace
      v = frames.exists(_.getClassName == UnpinnedRoot)
      cached.set(v)
    }
    v.booleanValue
  }
}
