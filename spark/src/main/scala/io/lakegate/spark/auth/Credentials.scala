package io.lakegate.spark.auth

import java.nio.charset.StandardCharsets
import java.security.MessageDigest
import java.util.concurrent.ConcurrentHashMap

import io.lakegate.spark.{LakegateErrors, Settings}

/** Who is asking: the user and groups of the current query, and the session id. */
final case class Identity(user: String, groups: Seq[String], sessionId: String)

/**
 * The bearer token for each request, by authentication mode:
 *  - okera-token: OKERA_TOKEN for every request (overrides every other mode);
 *  - signing-key: a short-lived token for the current user signed with the shared key;
 *  - cluster-token: one token for every user of the cluster;
 *  - self-signed: a token signed with a throwaway key embedded in its header (POC only).
 * Signed tokens are reused while more than half of their lifetime is left, so the planner's
 * session cache works.
 */
final class Credentials(settings: Settings) {
  val mode: String = settings.effectiveAuthMode

  private lazy val fixedToken: String = mode match {
    case Settings.ModeOkeraToken =>
      Settings.textOrFile(settings.token.get, Credentials.looksLikeJwt)
    case Settings.ModeClusterToken =>
      Settings.textOrFile(settings.clusterToken.getOrElse(throw LakegateErrors.failure(
        "authentication mode cluster-token needs LAKEGATE_CLUSTER_TOKEN (spark.lakegate.clusterToken)")), Credentials.looksLikeJwt)
    case _ => ""
  }

  private lazy val key: SigningKey = mode match {
    case Settings.ModeSigningKey if settings.signingKeyInConf && settings.signingKey.exists(_.contains("PRIVATE KEY")) =>
      throw LakegateErrors.failure("spark.lakegate.jwtSigningKey holds the signing key itself, which any notebook " +
        "could read back from the Spark configuration: put the key in a file only the driver's user can read " +
        "(the Databricks init script does) and set spark.lakegate.jwtSigningKey to that file's path")
    case Settings.ModeSigningKey =>
      Jwt.loadPrivateKey(settings.signingKey.getOrElse(throw LakegateErrors.failure(
        "authentication mode signing-key needs LAKEGATE_JWT_SIGNING_KEY (spark.lakegate.jwtSigningKey)")))
    case Settings.ModeSelfSigned => Credentials.throwawayKey
    case _ => null
  }

  private final case class Minted(token: String, renewAt: Long)
  private val minted = new ConcurrentHashMap[(String, Seq[String]), Minted]()

  /** Do tokens depend on the local user (so decisions are per user)? */
  def perUser: Boolean = mode == Settings.ModeSigningKey || mode == Settings.ModeSelfSigned

  /** A key naming the credentials, for caches: equal keys get equal decisions. */
  def principalKey(id: Identity): String =
    if (perUser) "user:" + id.user + "\u0000" + id.groups.mkString(",") else tokenKey

  private lazy val tokenKey: String = "token:" + Credentials.sha256(fixedToken)

  def token(id: Identity): String = mode match {
    case Settings.ModeOkeraToken | Settings.ModeClusterToken => fixedToken
    case _ =>
      if (id.user.trim.isEmpty) throw LakegateErrors.failure("cannot tell who runs this query: the user is empty")
      val now = System.currentTimeMillis()
      val k = (id.user, id.groups)
      val m = minted.get(k)
      if (m != null && now < m.renewAt) m.token
      else {
        val ttl = settings.tokenTtlSeconds
        val t = Jwt.sign(key, id.user, id.groups, ttl, embedJwk = mode == Settings.ModeSelfSigned)
        if (minted.size > 10000) minted.clear()
        minted.put(k, Minted(t, now + ttl * 500))
        t
      }
  }
}

object Credentials {
  lazy val throwawayKey: SigningKey = Jwt.generateEcKey()

  def looksLikeJwt(s: String): Boolean = s.count(_ == '.') == 2 && !s.contains("/") && !s.contains(" ")

  def sha256(s: String): String =
    MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)).map(b => "%02x".format(b & 0xff)).mkString
}
