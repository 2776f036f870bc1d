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
