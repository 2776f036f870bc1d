package io.lakegate.spark

import java.net.InetSocketAddress
import java.nio.charset.StandardCharsets
import java.time.Instant
import java.util.concurrent.atomic.AtomicInteger

import com.sun.net.httpserver.{HttpExchange, HttpServer}
import org.scalatest.funsuite.AnyFunSuite

import io.lakegate.spark.ensemble.{AccessKey, EnsembleKeys, OkeraFs, S3aSupport}

class EnsembleSuite extends AnyFunSuite {

  private def settings(conf: (String, String)*): Settings = Settings.load(conf.toMap.get, _ => None)

  test("OKERA_ENABLE_OKERA_FS and LAKEGATE_ENSEMBLE: off by default, the URL checked strictly") {
    assert(!settings().okeraFs)
    val on = settings("spark.lakegate.okeraFs" -> "true", "spark.lakegate.ensemble" -> "https://ens.example.com:5010/")
    assert(on.okeraFs && on.ensembleEndpoint == "https://ens.example.com:5010")
    assert(settings("spark.lakegate.okeraFs" -> "true").okeraFs)
    val none = intercept[LakegateException](settings("spark.lakegate.okeraFs" -> "true").ensembleEndpoint)
    assert(none.getMessage.contains("LAKEGATE_ENSEMBLE"))
    for (bad <- Seq("ens.example.com:5010", "ftp://ens:21", "http://user:pw@ens:5010", "http://ens:5010/path",
      "http://ens:5010?x=1", "http://ens:5010#f", "https://", "http://ens :5010")) {
      val e = intercept[LakegateException](settings("spark.lakegate.ensemble" -> bad).ensembleEndpoint)
      assert(e.getMessage.contains("spark.lakegate.ensemble"), bad)
    }
    intercept[LakegateException](settings("spark.lakegate.okeraFs" -> "maybe"))
  }

  test("routing settings are refused, tuning settings are not") {
    for (k <- Seq("fs.s3a.endpoint", "FS.S3A.ENDPOINT", "spark.hadoop.fs.s3a.endpoint", "fs.s3a.bucket.lake.endpoint",
      "fs.s3a.bucket.lake.aws.credentials.provider", "fs.s3a.aws.credentials.provider", "fs.s3a.access.key",
      "fs.s3a.secret.key", "fs.s3a.session.token", "fs.s3a.proxy.host", "fs.s3a.custom.signers",
      "fs.s3a.s3.client.factory.impl", "fs.s3a.audit.service.classname", "fs.s3a.impl", "fs.s3.impl", "fs.s3n.impl",
      "fs.AbstractFileSystem.s3a.impl", "fs.s3a.assumed.role.arn", "fs.s3a.connection.ssl.enabled",
      "fs.s3a.path.style.access", "fs.s3a.delegation.token.binding", "fs.s3a.security.credential.provider.path")) {
      assert(OkeraFs.isRoutingSetting(k), k)
    }
    for (k <- Seq("fs.s3a.connection.maximum", "fs.s3a.threads.max", "fs.s3a.multipart.size", "fs.s3a.readahead.range",
      "spark.hadoop.fs.s3a.committer.name", "fs.s3a.attempts.maximum", "fs.s3a.encryption.algorithm",
      "fs.s3a.server-side-encryption-algorithm", "fs.defaultFS", "spark.sql.shuffle.partitions")) {
      assert(!OkeraFs.isRoutingSetting(k), k)
    }
    val s = OkeraFs.hadoopSettings("http://ens:5010").toMap
    assert(s("fs.s3a.endpoint") == "http://ens:5010" && s("fs.s3a.connection.ssl.enabled") == "false")
    assert(OkeraFs.hadoopSettings("https://ens:5010").toMap.apply("fs.s3a.connection.ssl.enabled") == "true")
    assert(s.keys.forall(OkeraFs.isRoutingSetting), "install removes every routing setting, then sets these")
  }

  test("OKERA_ENABLE_OKERA_FS works with the s3a of each Spark line") {
    S3aSupport.require()
    assert(S3aSupport.hadoopAwsVersion == (if (SparkShim.sparkLine == "3.5") "3.3.4" else "3.4.1"))
  }

  /** A stand-in for the ensemble's credentials endpoint, answering with `answer(token)`. */
  private def withEndpoint(answer: String => (Int, String))(f: (String, AtomicInteger) => Unit): Unit = {
    val server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0)
    val calls = new AtomicInteger()
    server.createContext("/_lakegate/credentials", (ex: HttpExchange) => {
      calls.incrementAndGet()
      val auth = Option(ex.getRequestHeaders.getFirst("Authorization")).getOrElse("")
      val (status, body) =
        if (ex.getRequestMethod != "POST") (405, """{"error":"use POST"}""") else answer(auth.stripPrefix("Bearer "))
      val bytes = body.getBytes(StandardCharsets.UTF_8)
      ex.sendResponseHeaders(status, bytes.length.toLong)
      ex.getResponseBody.write(bytes)
      ex.close()
    })
    server.start()
    try f(s"http://127.0.0.1:${server.getAddress.getPort}", calls) finally server.stop(0)
  }

  private def key(user: String, id: String, expires: Instant): String =
    s"""{"Version":1,"AccessKeyId":"$id","SecretAccessKey":"secret-$id","Expiration":"$expires","User":"$user","Groups":[]}"""

  test("keys are exchanged once per principal and user, and again when half their lifetime is gone") {
    val n = new AtomicInteger()
    withEndpoint(tok => (200, key(tok, "LGK" + n.incrementAndGet(), Instant.now().plusSeconds(3600)))) { (url, calls) =>
      val keys = new EnsembleKeys(url, 2000, 2000)
      val a1 = keys.forPrincipal("user:alice", "alice", "alice")
      val a2 = keys.forPrincipal("user:alice", "alice", "alice")
      assert(a1 eq a2)
      assert(a1.user == "alice" && a1.boundTo == "alice" && a1.secretAccessKey == "secret-" + a1.accessKeyId)
      val b = keys.forPrincipal("user:bob", "bob", "bob")
      assert(b.accessKeyId != a1.accessKeyId)
      // One cluster token for everyone: one exchange per user of the cluster, keys kept apart.
      val c1 = keys.forPrincipal("token:x", "carol", "svc")
      val c2 = keys.forPrincipal("token:x", "dave", "svc")
      assert(c1.boundTo == "carol" && c2.boundTo == "dave" && c1.accessKeyId != c2.accessKeyId)
      assert(calls.get == 4)
      assert(!a1.toString.contains("secret"), "keys never print their secret")
    }
    withEndpoint(tok => { Thread.sleep(50); (200, key(tok, "LGK" + n.incrementAndGet(), Instant.now().plusSeconds(3600))) }) {
      (url, calls) =>
        // Threads asking at once for the same user wait for one exchange.
        val keys = new EnsembleKeys(url, 2000, 2000)
        val pool = java.util.concurrent.Executors.newFixedThreadPool(8)
        try {
          val ask = new java.util.concurrent.Callable[AccessKey] {
            def call(): AccessKey = keys.forPrincipal("user:alice", "alice", "alice")
          }
          val got = (1 to 16).map(_ => pool.submit(ask)).map(_.get)
          assert(got.map(_.accessKeyId).distinct.size == 1 && calls.get == 1)
        } finally pool.shutdown()
    }
    withEndpoint(tok => (200, key(tok, "LGK" + n.incrementAndGet(), Instant.now().plusSeconds(1)))) { (url, calls) =>
      val keys = new EnsembleKeys(url, 2000, 2000)
      val k1 = keys.forPrincipal("user:alice", "alice", "alice")
      Thread.sleep(1200)
      val k2 = keys.forPrincipal("user:alice", "alice", "alice")
      assert(k1.accessKeyId != k2.accessKeyId && calls.get == 2)
    }
  }

  test("a refused, malformed or expired answer, or no ensemble at all, fails with a clear message") {
    val token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln"
    val answers: Seq[(String => (Int, String), String)] = Seq(
      ((_: String) => (401, """{"error":"the token was refused: expired"}""")) -> "HTTP 401 (the token was refused: expired)",
      ((_: String) => (200, "not json")) -> "no usable key",
      ((_: String) => (200, """{"AccessKeyId":"LGK1"}""")) -> "no usable key",
      ((t: String) => (200, key(t, "LGK1", Instant.now().minusSeconds(5)))) -> "no usable key")
    for ((answer, why) <- answers) withEndpoint(answer) { (url, _) =>
      val e = intercept[LakegateException](new EnsembleKeys(url, 2000, 2000).forPrincipal("user:alice", "alice", token))
      assert(e.getMessage.contains(why) && e.getMessage.contains("user 'alice'") && e.getMessage.contains(url), e.getMessage)
      assert(!e.getMessage.contains(token), "the token never shows in an error")
    }
    val closed = {
      val s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress); val p = s.getLocalPort; s.close(); p
    }
    val e = intercept[LakegateException](new EnsembleKeys(s"http://127.0.0.1:$closed", 1000, 1000)
      .forPrincipal("user:alice", "alice", token))
    assert(e.getMessage.contains("cannot reach it"), e.getMessage)
  }
}
