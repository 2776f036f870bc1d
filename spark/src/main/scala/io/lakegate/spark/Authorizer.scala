package io.lakegate.spark

import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.{AtomicInteger, AtomicLong}

import io.lakegate.spark.auth.{Credentials, Identity}
import io.lakegate.spark.client._

/** The decisions for one batch of objects, in request order. */
final case class Decisions(principal: String, user: String, policyVersion: Long, decisions: IndexedSeq[ObjectDecision])

object Authorizer {
  private[spark] final class Memo(val principal: String, val startedAt: Long) {
    val entries = new java.util.HashMap[String, (ObjectDecision, String, Long)]()
    def get(k: String): Option[(ObjectDecision, String, Long)] = Option(entries.get(k))
    def put(k: String, v: (ObjectDecision, String, Long)): Unit = entries.put(k, v)
  }
  private val current = new ThreadLocal[Memo]
  private val MemoMillis = 2000L

  /**
   * The decisions of the statement being analysed on this thread. Spark analyses a statement in
   * several passes (and its subqueries and views in nested ones); they all use the first answer,
   * also with the cache off. A new statement (parsed SQL) starts a new memo; so does a new user,
   * and anything older than two seconds (DataFrame API calls parse nothing).
   */
  private[spark] def memo(principal: String): Memo = {
    val now = System.currentTimeMillis()
    val m = current.get
    if (m != null && m.principal == principal && now - m.startedAt < MemoMillis) m
    else { val n = new Memo(principal, now); current.set(n); n }
  }

  /** A new statement starts on this thread (called by the parser). */
  def newStatement(): Unit = current.remove()
}

/**
 * Asks the planner, through a short-lived per-session cache of decisions keyed by the
 * credentials, the object (with its columns) and the planner's policy version. A batch is
 * answered from the cache only when every object is in it; otherwise the whole batch is sent,
 * so a query costs at most one request. Denials are never cached. Any failure fails closed.
 */
final class Authorizer(settings: Settings, val client: PlannerClient, credentials: => Credentials) {
  private final case class Entry(decision: ObjectDecision, user: String, policyVersion: Long, expiresAt: Long)
  private val cache = new ConcurrentHashMap[String, Entry]()
  private val newestVersion = new AtomicLong(0)
  val requestCount = new AtomicInteger(0)

  def clearCache(): Unit = cache.clear()

  /** Decisions for objects, failing the query on any denial. */
  def authorize(id: Identity, objects: Seq[AuthObject], statement: String): Decisions =
    decide(id, objects, statement, failOnDenial = true)

  /** Decisions for objects, denials included (listings filter on them). */
  def authorizeAll(id: Identity, objects: Seq[AuthObject], statement: String): Decisions =
    decide(id, objects, statement, failOnDenial = false)

  /** Would a batch be answered from the cache alone? */
  def allCached(id: Identity, objects: Seq[AuthObject]): Boolean = settings.cacheTtlMs > 0 && {
    val principal = credentials.principalKey(id)
    val now = System.currentTimeMillis()
    objects.forall { o =>
      val e = cache.get(principal + "\u0003" + o.cacheKey)
      e != null && e.expiresAt > now && e.policyVersion >= newestVersion.get
    }
  }

  private def decide(id: Identity, objects: Seq[AuthObject], statement: String, failOnDenial: Boolean): Decisions = {
    val creds = try credentials catch {
      case e: LakegateException => throw e
      case e: Exception => throw LakegateErrors.failure("cannot set up authentication: " + e.getMessage)
    }
    val principal = creds.principalKey(id)
    val distinct = objects.distinct
    val now = System.currentTimeMillis()
    val memo = Authorizer.memo(principal)
    val memoized = distinct.map(o => memo.get(o.cacheKey))
    val cached = if (settings.cacheTtlMs > 0) distinct.map(o => cache.get(principal + "\u0003" + o.cacheKey)) else Nil
    val fresh = settings.cacheTtlMs > 0 && cached.forall(e => e != null && e.expiresAt > now && e.policyVersion >= newestVersion.get)
    val byKey: Map[String, (ObjectDecision, String, Long)] =
      if (memoized.forall(_.isDefined)) distinct.zip(memoized).map { case (o, m) => o.cacheKey -> m.get }.toMap
      else if (fresh) distinct.zip(cached).map { case (o, e) => o.cacheKey -> ((e.decision, e.user, e.policyVersion)) }.toMap
      else {
        val answered = ask(id, creds, principal, distinct, statement)
        answered.foreach { case (k, v) => if (v._1.allowed) memo.put(k, v) }
        answered
      }
    val ds = objects.map(o => byKey(o.cacheKey)._1).toIndexedSeq
    val (_, user, version) = byKey(objects.head.cacheKey)
    val denied = objects.zip(ds).filterNot(_._2.allowed)
    if (failOnDenial && denied.nonEmpty) {
      val msg = denied.map { case (o, d) =>
        if (d.reason.nonEmpty) d.reason
        else s"user $user may not ${o.action.privilege} ${o.displayName}"
      }.distinct.mkString("; ")
      throw LakegateErrors.denied(msg)
    }
    Decisions(principal, user, version, ds)
  }

  private def ask(id: Identity, creds: Credentials, principal: String, objects: Seq[AuthObject],
      statement: String): Map[String, (ObjectDecision, String, Long)] = {
    val address = client.address
    val token = creds.token(id)
    val request = AuthorizeRequest(id.sessionId, "lakegate-spark", objects, statement.take(4000))
    requestCount.incrementAndGet()
    val resp = try client.authorize(request, token) catch {
      case e: PlannerUnavailable => throw LakegateErrors.plannerFailure(address, e.why, e)
      case e: LakegateException => throw e
      case e: Exception => throw LakegateErrors.plannerFailure(address, e.toString, e)
    }
    validate(address, objects, resp)
    val now = System.currentTimeMillis()
    if (resp.policyVersion > newestVersion.get) {
      newestVersion.set(resp.policyVersion)
      cache.values().removeIf(_.policyVersion < resp.policyVersion)
    }
    if (settings.cacheTtlMs > 0) {
      if (cache.size > 50000) cache.clear()
      objects.zip(resp.decisions).foreach { case (o, d) =>
        if (d.allowed) cache.put(principal + "\u0003" + o.cacheKey,
          Entry(d, resp.user, resp.policyVersion, now + settings.cacheTtlMs))
      }
    }
    objects.zip(resp.decisions).map { case (o, d) => o.cacheKey -> ((d, resp.user, resp.policyVersion)) }.toMap
  }

  /** The answer must match the request exactly; anything else is a malformed answer. */
  private def validate(address: String, objects: Seq[AuthObject], resp: AuthorizeResponse): Unit = {
    def bad(why: String) = throw LakegateErrors.plannerFailure(address, "malformed answer: " + why)
    if (resp.decisions.size != objects.size) {
      bad(s"${resp.decisions.size} decisions for ${objects.size} objects")
    }
    objects.zip(resp.decisions).zipWithIndex.foreach { case ((o, d), i) =>
      if (d.index != i) bad(s"decision $i has index ${d.index}")
      if (d.allowed && o.action == Action.Select && o.uri.isEmpty && o.table.nonEmpty) {
        if (d.columns.size != o.columns.size) {
          bad(s"${d.columns.size} column decisions for the ${o.columns.size} columns of ${o.displayName}")
        }
        o.columns.zip(d.columns).foreach { case (c, cd) =>
          if (!c.name.equalsIgnoreCase(cd.name)) bad(s"column decision '${cd.name}' where '${c.name}' of ${o.displayName} was asked")
        }
      }
      if (d.allowed && d.whoami && resp.user.isEmpty) bad("whoami without a user")
    }
  }
}
