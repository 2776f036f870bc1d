package io.lakegate.spark.ensemble

import java.net.URI
import java.net.http.{HttpClient, HttpRequest, HttpResponse, HttpTimeoutException}
import java.net.http.HttpClient.Version
import java.nio.charset.StandardCharsets
import java.time.{Duration, Instant}
import java.util.concurrent.ConcurrentHashMap

import scala.util.Try

import io.lakegate.spark.LakegateException
import io.lakegate.spark.client.Json

/**
 * One user's S3 access key, issued by the ensemble for a JWT. `boundTo` is the Spark-side user
 * the key was taken for (the identity of the query), which may differ from the ensemble's `user`
 * when every user of a cluster shares one token.
 */
final case class AccessKey(accessKeyId: String, secretAccessKey: String, user: String, boundTo: String,
    expiresAtMs: Long, renewAtMs: Long) {
  /** Never the secret: keys show up in logs and exceptions as their id's first characters. */
  override def toString: String = s"AccessKey(${accessKeyId.take(8)}… of $user, for $boundTo)"
}

/**
 * The ensemble's credentials endpoint (`POST /_lakegate/credentials` with the user's JWT), and
 * the keys it issued, one per principal, reused until half of their lifetime is gone (so a job
 * started with a key has at least that half to run). Exchanges are rare: one per user per half
 * lifetime.
 */
final class EnsembleKeys(val endpoint: String, connectTimeoutMs: Int, requestTimeoutMs: Int) {
  private val http: HttpClient = HttpClient.newBuilder()
    .version(Version.HTTP_1_1)
    .connectTimeout(Duration.ofMillis(connectTimeoutMs.toLong))
    .build()
  private val url = URI.create(endpoint.stripSuffix("/") + "/_lakegate/credentials")
  private val keys = new ConcurrentHashMap[String, AccessKey]()
  private val locks = new ConcurrentHashMap[String, Object]()

  /** The key of a principal (see Credentials.principalKey), exchanging `token` when needed. */
  def forPrincipal(principal: String, boundTo: String, token: => String): AccessKey = {
    val cacheKey = principal + "\u0000" + boundTo
    def fresh(): AccessKey = {
      val k = keys.get(cacheKey)
      if (k != null && System.currentTimeMillis() < k.renewAtMs) k else null
    }
    val k = fresh()
    if (k != null) k
    else locks.computeIfAbsent(cacheKey, _ => new Object).synchronized {
      // One exchange per principal at a time: the threads that waited take its key.
      val again = fresh()
      if (again != null) again
      else {
        val issued = issue(token, boundTo, System.currentTimeMillis())
        if (keys.size > 10000) { keys.clear(); locks.clear() }
        keys.put(cacheKey, issued)
        issued
      }
    }
  }

  private def issue(token: String, boundTo: String, now: Long): AccessKey = {
    def fail(why: String, cause: Throwable = null) =
      new LakegateException(s"lakegate: the ensemble at $endpoint could not issue an S3 access key for " +
        s"user '$boundTo': $why; file access through s3a fails until it can", cause)
    val req = HttpRequest.newBuilder(url)
      .timeout(Duration.ofMillis(requestTimeoutMs.toLong))
      .header("Authorization", "Bearer " + token)
      .header("User-Agent", "lakegate-spark")
      .POST(HttpRequest.BodyPublishers.noBody())
      .build()
    val resp = try http.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8)) catch {
      case e: HttpTimeoutException => throw fail(s"no answer within ${requestTimeoutMs} ms", e)
      case e: java.io.IOException =>
        throw fail("cannot reach it (" + Option(e.getMessage).getOrElse(e.getClass.getSimpleName) + ")", e)
      case e: InterruptedException =>
        Thread.currentThread().interrupt()
        throw fail("interrupted", e)
    }
    val body = Try(Json.mapper.readTree(resp.body())).toOption.filter(_ != null)
    def field(name: String): String = body.flatMap(b => Option(b.get(name))).filter(_.isTextual).map(_.asText).getOrElse("")
    if (resp.statusCode() != 200) {
      val detail = Some(field("error")).filter(_.nonEmpty).getOrElse(resp.body().take(200))
      throw fail(s"HTTP ${resp.statusCode()} ($detail)")
    }
    val (id, secret, user, exp) = (field("AccessKeyId"), field("SecretAccessKey"), field("User"), field("Expiration"))
    val expires = Try(Instant.parse(exp).toEpochMilli).getOrElse(0L)
    if (id.isEmpty || secret.isEmpty || expires <= now) throw fail("its answer has no usable key (malformed or already expired)")
    AccessKey(id, secret, user, boundTo, expires, now + (expires - now) / 2)
  }
}
