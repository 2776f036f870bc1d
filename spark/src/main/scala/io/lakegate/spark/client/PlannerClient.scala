package io.lakegate.spark.client

import java.net.URI
import java.net.http.{HttpClient, HttpRequest, HttpResponse, HttpTimeoutException}
import java.net.http.HttpClient.Version
import java.nio.charset.StandardCharsets
import java.time.Duration
import java.util.concurrent.atomic.AtomicInteger

import scala.collection.mutable.ArrayBuffer

/** Raised by a client when the planner gives no usable answer; the query then fails closed. */
final class PlannerUnavailable(val why: String, cause: Throwable = null) extends Exception(why, cause)

/** The one door to the planner: the rules see decisions only through this trait. */
trait PlannerClient {
  /** Where the client sends requests, for error messages ("host:port"). */
  def address: String

  /** Authorize a batch of objects with the bearer token; throws PlannerUnavailable. */
  def authorize(request: AuthorizeRequest, token: String): AuthorizeResponse
}

/** The real client: Connect JSON over java.net.http. */
final class HttpPlannerClient(val address: String, connectTimeoutMs: Int, requestTimeoutMs: Int)
  extends PlannerClient {

  private val http: HttpClient = HttpClient.newBuilder()
    .version(Version.HTTP_1_1)
    .connectTimeout(Duration.ofMillis(connectTimeoutMs.toLong))
    .build()

  private val base = "http://" + address + "/lakegate.v1.PlannerService/"

  def authorize(request: AuthorizeRequest, token: String): AuthorizeResponse = {
    val body = post("Authorize", Json.authorizeRequest(request), token)
    try Json.authorizeResponse(body) catch {
      case e: Json.MalformedAnswer => throw new PlannerUnavailable("malformed answer: " + e.getMessage)
    }
  }

  private def post(method: String, json: String, token: String): String = {
    val req = HttpRequest.newBuilder(URI.create(base + method))
      .timeout(Duration.ofMillis(requestTimeoutMs.toLong))
      .header("Content-Type", "application/json")
      .header("Authorization", "Bearer " + token)
      .header("User-Agent", "lakegate-spark")
      .POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8))
      .build()
    val resp = try http.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8)) catch {
      case e: HttpTimeoutException =>
        throw new PlannerUnavailable(s"no answer within the timeout (${e.getMessage}; connect timeout " +
          s"${connectTimeoutMs} ms, request timeout ${requestTimeoutMs} ms)", e)
      case e: java.net.ConnectException =>
        throw new PlannerUnavailable("cannot connect (" + Option(e.getMessage).getOrElse(e.getClass.getSimpleName) +
          "); is the planner running and reachable?", e)
      case e: java.io.IOException =>
        throw new PlannerUnavailable("the connection failed: " + Option(e.getMessage).getOrElse(e.getClass.getSimpleName), e)
      case e: InterruptedException =>
        Thread.currentThread().interrupt()
        throw new PlannerUnavailable("interrupted while waiting for the planner", e)
    }
    val status = resp.statusCode()
    if (status == 200) resp.body()
    else {
      val detail = Json.connectError(resp.body()) match {
        case Some((code, msg)) => s"$code: $msg"
        case None => resp.body().take(300)
      }
      throw new PlannerUnavailable(s"HTTP $status ($detail)")
    }
  }
}

/**
 * A planner that answers from recorded responses, for unit tests. The function receives each
 * request (already recorded in `requests`) and gives the answer or throws PlannerUnavailable.
 */
final class RecordedPlannerClient(answer: AuthorizeRequest => AuthorizeResponse,
    val address: String = "recorded:12050") extends PlannerClient {
  val requests: ArrayBuffer[AuthorizeRequest] = ArrayBuffer.empty
  val tokens: ArrayBuffer[String] = ArrayBuffer.empty
  private val counter = new AtomicInteger()

  def count: Int = counter.get

  def authorize(request: AuthorizeRequest, token: String): AuthorizeResponse = synchronized {
    counter.incrementAndGet()
    requests += request
    tokens += token
    answer(request)
  }

  def reset(): Unit = synchronized { requests.clear(); tokens.clear(); counter.set(0) }
}

object RecordedPlannerClient {
  /** A client answering with a fixed JSON body for every request (as the planner would send it). */
  def fromJson(body: String): RecordedPlannerClient =
    new RecordedPlannerClient(_ => Json.authorizeResponse(body))
}
