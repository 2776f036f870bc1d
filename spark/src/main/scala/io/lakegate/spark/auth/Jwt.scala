package io.lakegate.spark.auth

import java.io.ByteArrayOutputStream
import java.math.BigInteger
import java.nio.charset.StandardCharsets
import java.security.{KeyFactory, KeyPair, KeyPairGenerator, MessageDigest, PrivateKey, PublicKey, Signature}
import java.security.interfaces.{ECPrivateKey, ECPublicKey, RSAPrivateCrtKey, RSAPublicKey}
import java.security.spec.{ECGenParameterSpec, ECPoint, ECPublicKeySpec, PKCS8EncodedKeySpec, RSAPublicKeySpec}
import java.util.Base64

import com.fasterxml.jackson.databind.node.ObjectNode

import io.lakegate.spark.LakegateErrors
import io.lakegate.spark.client.Json

/** A private key that signs tokens, with its public half and JWS algorithm. */
final case class SigningKey(privateKey: PrivateKey, publicKey: PublicKey) {
  val alg: String = publicKey match {
    case _: RSAPublicKey => "RS256"
    case _: ECPublicKey => "ES256"
  }
  lazy val kid: String = Jwt.thumbprint(publicKey)
}

/**
 * JWT signing with the JDK alone (RS256 and ES256), as the planner verifies it
 * (internal/authn): base64url without padding, kid = RFC 7638 thumbprint, ES256 signatures in
 * JOSE r||s form, claims sub, groups, iat, nbf, exp.
 */
object Jwt {
  private val b64 = Base64.getUrlEncoder.withoutPadding()

  def b64url(bytes: Array[Byte]): String = b64.encodeToString(bytes)

  /** Unsigned big-endian bytes without leading zeros (as JWK wants for n and e). */
  private def unsigned(i: BigInteger): Array[Byte] = {
    val b = i.toByteArray
    val start = b.indexWhere(_ != 0) match { case -1 => b.length - 1; case k => k }
    java.util.Arrays.copyOfRange(b, start, b.length)
  }

  /** Fixed-length big-endian bytes. */
  private def fixed(i: BigInteger, len: Int): Array[Byte] = {
    val u = unsigned(i)
    if (u.length > len) throw new IllegalArgumentException("integer too large")
    val out = new Array[Byte](len)
    System.arraycopy(u, 0, out, len - u.length, u.length)
    out
  }

  private def checkP256(k: ECPublicKey): Unit =
    if (k.getParams.getCurve.getField.getFieldSize != 256 ||
      k.getParams.getOrder.bitLength != 256) {
      throw LakegateErrors.failure("the signing key is an EC key on a curve other than P-256; use P-256 (ES256) or RSA")
    }

  /** The public JWK as (name, value) pairs in RFC 7638 order. */
  def jwkMembers(pub: PublicKey): Seq[(String, String)] = pub match {
    case k: RSAPublicKey =>
      Seq("e" -> b64url(unsigned(k.getPublicExponent)), "kty" -> "RSA", "n" -> b64url(unsigned(k.getModulus)))
    case k: ECPublicKey =>
      checkP256(k)
      Seq("crv" -> "P-256", "kty" -> "EC", "x" -> b64url(fixed(k.getW.getAffineX, 32)),
        "y" -> b64url(fixed(k.getW.getAffineY, 32)))
    case other => throw LakegateErrors.failure(s"unsupported key type ${other.getAlgorithm}")
  }

  /** RFC 7638 thumbprint: SHA-256 of the canonical JWK, base64url. */
  def thumbprint(pub: PublicKey): String = {
    val canon = jwkMembers(pub).map { case (k, v) => "\"" + k + "\":\"" + v + "\"" }.mkString("{", ",", "}")
    b64url(MessageDigest.getInstance("SHA-256").digest(canon.getBytes(StandardCharsets.UTF_8)))
  }

  /** Sign a token for user with groups, valid for ttlSeconds from now. */
  def sign(key: SigningKey, user: String, groups: Seq[String], ttlSeconds: Long,
      embedJwk: Boolean = false, nowSeconds: Long = System.currentTimeMillis() / 1000): String = {
    val header = Json.mapper.createObjectNode()
    header.put("alg", key.alg)
    header.put("typ", "JWT")
    if (embedJwk) {
      val jwk = header.putObject("jwk")
      jwkMembers(key.publicKey).foreach { case (k, v) => jwk.put(k, v) }
    } else {
      header.put("kid", key.kid)
    }
    val claims: ObjectNode = Json.mapper.createObjectNode()
    claims.put("sub", user)
    val g = claims.putArray("groups")
    groups.foreach(g.add)
    claims.put("iat", nowSeconds)
    claims.put("nbf", nowSeconds)
    claims.put("exp", nowSeconds + ttlSeconds)
    val input = b64url(Json.mapper.writeValueAsBytes(header)) + "." + b64url(Json.mapper.writeValueAsBytes(claims))
    input + "." + b64url(signature(key, input.getBytes(StandardCharsets.US_ASCII)))
  }

  private def signature(key: SigningKey, input: Array[Byte]): Array[Byte] = key.alg match {
    case "RS256" =>
      val s = Signature.getInstance("SHA256withRSA")
      s.initSign(key.privateKey)
      s.update(input)
      s.sign()
    case "ES256" =>
      val s = Signature.getInstance("SHA256withECDSA")
      s.initSign(key.privateKey)
      s.update(input)
      derToJose(s.sign(), 32)
  }

  /** ASN.1 DER SEQUENCE { INTEGER r, INTEGER s } to r||s, each of len bytes. */
  def derToJose(der: Array[Byte], len: Int): Array[Byte] = {
    var i = 0
    def byte(): Int = { val b = der(i) & 0xff; i += 1; b }
    def length(): Int = {
      val b = byte()
      if (b < 0x80) b else (0 until (b & 0x7f)).foldLeft(0)((acc, _) => (acc << 8) | byte())
    }
    if (byte() != 0x30) throw new IllegalArgumentException("not a DER signature")
    length()
    def integer(): BigInteger = {
      if (byte() != 0x02) throw new IllegalArgumentException("not a DER integer")
      val n = length()
      val v = new BigInteger(1, java.util.Arrays.copyOfRange(der, i, i + n))
      i += n
      v
    }
    val r = integer()
    val s = integer()
    fixed(r, len) ++ fixed(s, len)
  }

  /** r||s to DER (for verifying our own ES256 tokens in tests). */
  def joseToDer(sig: Array[Byte]): Array[Byte] = {
    val half = sig.length / 2
    def enc(b: Array[Byte]): Array[Byte] = {
      val v = new BigInteger(1, b).toByteArray
      Array[Byte](0x02, v.length.toByte) ++ v
    }
    val body = enc(sig.take(half)) ++ enc(sig.drop(half))
    Array[Byte](0x30, body.length.toByte) ++ body
  }

  // ---- keys ----

  /** A fresh EC P-256 key pair (self-signed mode). */
  def generateEcKey(): SigningKey = {
    val g = KeyPairGenerator.getInstance("EC")
    g.initialize(new ECGenParameterSpec("secp256r1"))
    val kp: KeyPair = g.generateKeyPair()
    SigningKey(kp.getPrivate, kp.getPublic)
  }

  /**
   * Read a private key from PEM text or from the path of a PEM file: PKCS#8 ("PRIVATE KEY", as
   * `lakegate keygen` writes), PKCS#1 ("RSA PRIVATE KEY") or SEC1 ("EC PRIVATE KEY"). Literal
   * "\n" sequences (from secret stores and environment variables) count as line breaks.
   */
  def loadPrivateKey(pemOrPath: String): SigningKey = {
    val text0 = io.lakegate.spark.Settings.textOrFile(pemOrPath, _.contains("-----BEGIN"))
    val text = if (!text0.contains("\n") && text0.contains("\\n")) text0.replace("\\n", "\n") else text0
    val blocks = "-----BEGIN ([A-Z ]+)-----([^-]*)-----END \\1-----".r.findAllMatchIn(text).map { m =>
      (m.group(1), m.group(2))
    }.toList
    if (blocks.exists(_._1 == "ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED")) {
      throw LakegateErrors.failure("the JWT signing key is encrypted; give an unencrypted PKCS#8 key " +
        "(keep it in a secret store), e.g. `openssl pkcs8 -topk8 -nocrypt`")
    }
    val (kind, body) = blocks.find(b => Set("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY").contains(b._1))
      .getOrElse(throw LakegateErrors.failure("the JWT signing key holds no PEM private key " +
        "(\"PRIVATE KEY\", \"RSA PRIVATE KEY\" or \"EC PRIVATE KEY\")"))
    val der = try Base64.getMimeDecoder.decode(body.trim) catch {
      case _: IllegalArgumentException => throw LakegateErrors.failure("the JWT signing key's PEM block is not valid base64")
    }
    val pkcs8 = kind match {
      case "PRIVATE KEY" => der
      case "RSA PRIVATE KEY" => wrapPkcs8(seq(oid("2a864886f70d010101") ++ Array[Byte](0x05, 0x00)), der)
      case "EC PRIVATE KEY" => wrapPkcs8(seq(oid("2a8648ce3d0201") ++ oid("2a8648ce3d030107")), der)
    }
    val priv: PrivateKey = Seq("RSA", "EC").iterator.map { alg =>
      try Some(KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(pkcs8))) catch {
        case _: Exception => None
      }
    }.collectFirst { case Some(k) => k }
      .getOrElse(throw LakegateErrors.failure("the JWT signing key does not parse as an RSA or EC P-256 private key"))
    val pub: PublicKey = priv match {
      case k: RSAPrivateCrtKey =>
        if (k.getModulus.bitLength < 2048) throw LakegateErrors.failure("the JWT signing key is an RSA key under 2048 bits")
        KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(k.getModulus, k.getPublicExponent))
      case k: ECPrivateKey =>
        val params = k.getParams
        if (params.getCurve.getField.getFieldSize != 256) throw LakegateErrors.failure("the JWT signing key is not an EC P-256 key")
        KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(ecPublicPoint(k), params))
      case _ => throw LakegateErrors.failure("the JWT signing key must be RSA (RS256) or EC P-256 (ES256)")
    }
    SigningKey(priv, pub)
  }

  // Minimal DER writing, to wrap PKCS#1 / SEC1 keys into PKCS#8.
  private def tlv(tag: Int, content: Array[Byte]): Array[Byte] = {
    val out = new ByteArrayOutputStream()
    out.write(tag)
    val n = content.length
    if (n < 0x80) out.write(n)
    else {
      val lenBytes = BigInteger.valueOf(n.toLong).toByteArray.dropWhile(_ == 0)
      out.write(0x80 | lenBytes.length)
      out.write(lenBytes)
    }
    out.write(content)
    out.toByteArray
  }
  private def seq(content: Array[Byte]): Array[Byte] = tlv(0x30, content)
  private def oid(hex: String): Array[Byte] = tlv(0x06, hex.grouped(2).map(Integer.parseInt(_, 16).toByte).toArray)
  private def wrapPkcs8(algId: Array[Byte], key: Array[Byte]): Array[Byte] =
    seq(Array[Byte](0x02, 0x01, 0x00) ++ algId ++ tlv(0x04, key))

  /** Q = d·G on P-256, by double-and-add in affine coordinates (only for loading a key). */
  private def ecPublicPoint(k: ECPrivateKey): ECPoint = {
    val params = k.getParams
    val p = params.getCurve.getField.asInstanceOf[java.security.spec.ECFieldFp].getP
    val a = params.getCurve.getA
    def add(P: ECPoint, Q: ECPoint): ECPoint = {
      if (P == ECPoint.POINT_INFINITY) return Q
      if (Q == ECPoint.POINT_INFINITY) return P
      val (x1, y1, x2, y2) = (P.getAffineX, P.getAffineY, Q.getAffineX, Q.getAffineY)
      val lambda =
        if (x1 == x2) {
          if (y1.add(y2).mod(p).signum == 0) return ECPoint.POINT_INFINITY
          x1.pow(2).multiply(BigInteger.valueOf(3)).add(a).multiply(y1.shiftLeft(1).modInverse(p)).mod(p)
        } else y2.subtract(y1).multiply(x2.subtract(x1).modInverse(p)).mod(p)
      val x3 = lambda.pow(2).subtract(x1).subtract(x2).mod(p)
      val y3 = lambda.multiply(x1.subtract(x3)).subtract(y1).mod(p)
      new ECPoint(x3, y3)
    }
    var result = ECPoint.POINT_INFINITY
    var addend = params.getGenerator
    val d = k.getS
    for (i <- 0 until d.bitLength) {
      if (d.testBit(i)) result = add(result, addend)
      addend = add(addend, addend)
    }
    result
  }
}
