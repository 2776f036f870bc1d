package io.lakegate.spark

import java.nio.charset.StandardCharsets
import java.security.{KeyPairGenerator, Signature}
import java.util.Base64

import com.fasterxml.jackson.databind.ObjectMapper
import org.scalatest.funsuite.AnyFunSuite

import io.lakegate.spark.auth.{Credentials, Identity, Jwt, SigningKey}

class JwtSuite extends AnyFunSuite {
  private val mapper = new ObjectMapper()
  private def dec(s: String) = Base64.getUrlDecoder.decode(s)

  private def pem(kind: String, der: Array[Byte]): String =
    s"-----BEGIN $kind-----\n" + Base64.getMimeEncoder(64, "\n".getBytes).encodeToString(der) + s"\n-----END $kind-----\n"

  private def verify(token: String, key: SigningKey): (com.fasterxml.jackson.databind.JsonNode, com.fasterxml.jackson.databind.JsonNode) = {
    val parts = token.split('.')
    assert(parts.length == 3)
    parts.foreach(p => assert(p.matches("[A-Za-z0-9_-]+"), "base64url without padding"))
    val header = mapper.readTree(dec(parts(0)))
    val claims = mapper.readTree(dec(parts(1)))
    val input = (parts(0) + "." + parts(1)).getBytes(StandardCharsets.US_ASCII)
    val sig = dec(parts(2))
    val ok = header.get("alg").asText match {
      case "RS256" =>
        val v = Signature.getInstance("SHA256withRSA"); v.initVerify(key.publicKey); v.update(input); v.verify(sig)
      case "ES256" =>
        assert(sig.length == 64, "JOSE r||s")
        val v = Signature.getInstance("SHA256withECDSA"); v.initVerify(key.publicKey); v.update(input); v.verify(Jwt.joseToDer(sig))
    }
    assert(ok, "signature verifies")
    (header, claims)
  }

  test("RS256 token from a PKCS#8 PEM signs the claims the planner needs") {
    val g = KeyPairGenerator.getInstance("RSA"); g.initialize(2048)
    val kp = g.generateKeyPair()
    val key = Jwt.loadPrivateKey(pem("PRIVATE KEY", kp.getPrivate.getEncoded))
    assert(key.publicKey == kp.getPublic)
    val tok = Jwt.sign(key, "alice", Seq("analysts", "eu"), 300, nowSeconds = 1000)
    val (h, c) = verify(tok, key)
    assert(h.get("alg").asText == "RS256")
    assert(h.get("kid").asText == key.kid)
    assert(c.get("sub").asText == "alice")
    assert(c.get("groups").size == 2 && c.get("groups").get(0).asText == "analysts")
    assert(c.get("iat").asLong == 1000 && c.get("nbf").asLong == 1000 && c.get("exp").asLong == 1300)
  }

  test("ES256 from PKCS#8 and from SEC1, with the public key derived from the private one") {
    val g = KeyPairGenerator.getInstance("EC"); g.initialize(new java.security.spec.ECGenParameterSpec("secp256r1"))
    val kp = g.generateKeyPair()
    val key = Jwt.loadPrivateKey(pem("PRIVATE KEY", kp.getPrivate.getEncoded))
    assert(key.publicKey.getEncoded.sameElements(kp.getPublic.getEncoded))
    val (h, _) = verify(Jwt.sign(key, "bob", Nil, 60), key)
    assert(h.get("alg").asText == "ES256")
    // PEM with literal \n, as from an environment variable
    val oneLine = pem("PRIVATE KEY", kp.getPrivate.getEncoded).replace("\n", "\\n")
    assert(Jwt.loadPrivateKey(oneLine).kid == key.kid)
  }

  test("kid is the RFC 7638 thumbprint the Go planner computes for the same key") {
    // A test-only key written by `lakegate keygen`; the kid is what `lakegate token` put in its header.
    def res(n: String) = new String(getClass.getResourceAsStream(n).readAllBytes(), StandardCharsets.UTF_8)
    val key = Jwt.loadPrivateKey(res("/keys/go-rsa-private.pem"))
    assert(key.kid == res("/keys/go-rsa-kid.txt").trim)
  }

  test("self-signed tokens embed the public JWK and no kid") {
    val s = Settings.load(Map("spark.lakegate.selfSigned" -> "true").get, _ => None)
    val c = new Credentials(s)
    assert(c.mode == Settings.ModeSelfSigned)
    val tok = c.token(Identity("carol", Seq("g"), ""))
    val (h, cl) = verify(tok, Credentials.throwawayKey)
    assert(h.get("jwk").get("kty").asText == "EC" && !h.has("kid"))
    assert(cl.get("sub").asText == "carol")
    assert(c.token(Identity("carol", Seq("g"), "")) == tok, "reused while young")
  }

  test("auth mode inference and OKERA_TOKEN precedence") {
    def mode(conf: Map[String, String], env: Map[String, String] = Map.empty) = Settings.load(conf.get, env.get).effectiveAuthMode
    assert(mode(Map.empty, Map("OKERA_TOKEN" -> "a.b.c", "LAKEGATE_SELF_SIGNED" -> "true")) == "okera-token")
    assert(mode(Map("spark.lakegate.jwtSigningKey" -> "/k", "spark.lakegate.clusterToken" -> "a.b.c")) == "signing-key")
    assert(mode(Map("spark.lakegate.clusterToken" -> "a.b.c")) == "cluster-token")
    assert(mode(Map.empty, Map("LAKEGATE_SELF_SIGNED" -> "true")) == "self-signed")
    assert(mode(Map("spark.lakegate.authMode" -> "cluster-token", "spark.lakegate.selfSigned" -> "true")) == "cluster-token")
    val err = intercept[LakegateException](mode(Map.empty))
    assert(err.getMessage.startsWith("lakegate: no credentials"))
    assert(Settings.load(Map("spark.lakegate.planner" -> "h").get, _ => None).plannerAddress == "h:12050")
    assert(Settings.load(_ => None, Map("OKERA_PLANNER" -> "h:9").get).plannerAddress == "h:9")
    assert(intercept[LakegateException](Settings.load(_ => None, _ => None).plannerAddress).getMessage.contains("OKERA_PLANNER"))
  }
}
