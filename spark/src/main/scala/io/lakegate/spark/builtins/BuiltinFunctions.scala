package io.lakegate.spark.builtins

import java.math.{BigDecimal => JBigDecimal, BigInteger, RoundingMode}
import java.nio.charset.StandardCharsets
import java.security.MessageDigest
import java.util.Locale
import java.util.concurrent.ThreadLocalRandom

import org.apache.spark.sql.types._
import org.apache.spark.unsafe.types.UTF8String

/**
 * The builtin masking functions of docs/builtins.md on Catalyst's internal values
 * (UTF8String, Int, Long, Decimal, days since 1970 for dates). The same test vectors as the Go
 * implementation (testdata/builtins/vectors.json) check them.
 */
object BuiltinFunctions {
  val Names: Seq[String] = Seq("mask", "mask_ccn", "tokenize", "sha2", "hash", "fnv_hash", "null", "zero",
    "random_ccn", "phi_age", "diff_privacy")
  val Nondeterministic: Set[String] = Set("random_ccn", "diff_privacy")

  def resultType(fn: String, input: DataType): DataType = fn match {
    case "sha2" | "fnv_hash" => LongType
    case "hash" => StringType
    case _ => input
  }

  private def isString(t: DataType): Boolean = t.isInstanceOf[StringType]
  private def isIntegral(t: DataType): Boolean = t match {
    case ByteType | ShortType | IntegerType | LongType => true
    case _ => false
  }

  /** Evaluate fn on a non-NULL value of type t; epsilon only for diff_privacy. May return null. */
  def eval(fn: String, t: DataType, v: Any, epsilon: Double): Any = fn match {
    case "mask" => if (isString(t)) UTF8String.fromString(mask(v.toString)) else null
    case "mask_ccn" => if (isString(t)) UTF8String.fromString(maskCcn(v.toString)) else null
    case "tokenize" => t match {
      case _: StringType => UTF8String.fromString(tokenize(v.toString))
      case IntegerType => tokenizeIntegral(v.asInstanceOf[Int].toLong, 9, BigInteger.valueOf(Int.MaxValue)).toInt
      case LongType => tokenizeIntegral(v.asInstanceOf[Long], 18, BigInteger.valueOf(Long.MaxValue))
      case _ => null
    }
    case "sha2" => stringForm(t, v).map(s => sha2(s)).orNull
    case "hash" => stringForm(t, v).map(s => UTF8String.fromString(hashHex(s))).orNull
    case "fnv_hash" => stringForm(t, v).map(s => fnv(s)).orNull
    case "null" => null
    case "zero" => zero(t)
    case "random_ccn" => if (isString(t)) UTF8String.fromString(randomCcn()) else null
    case "phi_age" => t match {
      case ByteType => math.min(v.asInstanceOf[Byte].toInt, 90).toByte
      case ShortType => math.min(v.asInstanceOf[Short].toInt, 90).toShort
      case IntegerType => math.min(v.asInstanceOf[Int], 90)
      case LongType => math.min(v.asInstanceOf[Long], 90L)
      case _ => null
    }
    case "diff_privacy" => diffPrivacy(t, v, epsilon)
    case other => throw new IllegalArgumentException(s"unknown builtin $other")
  }

  def mask(s: String): String = "x" * s.codePointCount(0, s.length)

  private def isAsciiAlnum(c: Int): Boolean =
    (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')

  def maskCcn(s: String): String = {
    val cps = s.codePoints().toArray
    val n = cps.count(isAsciiAlnum)
    val keepFrom = if (n > 4) n - 4 else n
    val sb = new java.lang.StringBuilder
    var k = 0
    cps.foreach { c =>
      if (isAsciiAlnum(c)) {
        sb.appendCodePoint(if (k >= keepFrom) c else 'X')
        k += 1
      } else sb.appendCodePoint(c)
    }
    sb.toString
  }

  private def sha256(parts: Array[Byte]*): Array[Byte] = {
    val md = MessageDigest.getInstance("SHA-256")
    parts.foreach(md.update)
    md.digest()
  }

  def tokenize(s: String): String = {
    val k = sha256("lakegate-tokenize-v1".getBytes(StandardCharsets.US_ASCII), Array[Byte](0), s.getBytes(StandardCharsets.UTF_8))
    var block: Array[Byte] = null
    var blockIndex = -1
    val sb = new java.lang.StringBuilder
    var i = 0
    s.codePoints().forEach { c =>
      val bi = i / 32
      if (bi != blockIndex) {
        block = sha256(k, Array((bi >>> 24).toByte, (bi >>> 16).toByte, (bi >>> 8).toByte, bi.toByte))
        blockIndex = bi
      }
      val b = block(i % 32) & 0xff
      val out =
        if (c >= '0' && c <= '9') '0' + (c - '0' + 1 + b % 9) % 10
        else if (c >= 'a' && c <= 'z') 'a' + (c - 'a' + 1 + b % 25) % 26
        else if (c >= 'A' && c <= 'Z') 'A' + (c - 'A' + 1 + b % 25) % 26
        else c
      sb.appendCodePoint(out)
      i += 1
    }
    sb.toString
  }

  private def tokenizeIntegral(x: Long, keepDigits: Int, max: BigInteger): Long = {
    val neg = x < 0
    val mag = BigInteger.valueOf(x).abs()
    var r = new BigInteger(tokenize(mag.toString))
    val limit = if (neg) max.add(BigInteger.ONE) else max
    if (r.compareTo(limit) > 0) r = r.mod(BigInteger.TEN.pow(keepDigits))
    (if (neg) r.negate() else r).longValue
  }

  /** The string form digested by sha2, hash and fnv_hash; None for other types. */
  def stringForm(t: DataType, v: Any): Option[String] = t match {
    case _: StringType => Some(v.toString)
    case ByteType | ShortType | IntegerType | LongType => Some(v.toString)
    case BooleanType => Some(if (v.asInstanceOf[Boolean]) "true" else "false")
    case _ => None
  }

  def sha2(s: String): Long = {
    val d = sha256(s.getBytes(StandardCharsets.UTF_8))
    var v = 0L
    for (i <- 0 until 8) v = (v << 8) | (d(i) & 0xffL)
    v >>> 4
  }

  def hashHex(s: String): String =
    sha256(s.getBytes(StandardCharsets.UTF_8)).map(b => "%02x".format(b & 0xff)).mkString

  def fnv(s: String): Long = {
    var h = 0xcbf29ce484222325L
    s.getBytes(StandardCharsets.UTF_8).foreach { b =>
      h ^= (b & 0xffL)
      h *= 0x100000001b3L
    }
    h
  }

  def zero(t: DataType): Any = t match {
    case _: StringType => UTF8String.EMPTY_UTF8
    case ByteType => 0.toByte
    case ShortType => 0.toShort
    case IntegerType => 0
    case LongType => 0L
    case FloatType => 0.0f
    case DoubleType => 0.0d
    case d: DecimalType => Decimal(JBigDecimal.ZERO.setScale(d.scale), d.precision, d.scale)
    case BooleanType => false
    case DateType => 0
    case _ => null
  }

  def randomCcn(): String = {
    val r = ThreadLocalRandom.current()
    val digits = new Array[Int](16)
    digits(0) = 4
    for (i <- 1 until 15) digits(i) = r.nextInt(10)
    digits(15) = luhnCheckDigit(digits.take(15))
    digits.mkString
  }

  /** The digit that makes payload ++ digit pass the Luhn check. */
  def luhnCheckDigit(payload: Array[Int]): Int = {
    var sum = 0
    // From the right of the payload, every first digit is doubled (it becomes second once the
    // check digit is appended).
    for ((d, i) <- payload.reverse.zipWithIndex) {
      val v = if (i % 2 == 0) { val x = d * 2; if (x > 9) x - 9 else x } else d
      sum += v
    }
    (10 - sum % 10) % 10
  }

  def luhnValid(s: String): Boolean = {
    var sum = 0
    for ((ch, i) <- s.reverse.zipWithIndex) {
      val d = ch - '0'
      sum += (if (i % 2 == 1) { val x = d * 2; if (x > 9) x - 9 else x } else d)
    }
    sum % 10 == 0
  }

  /** Laplace noise with scale 1/epsilon. */
  def laplace(epsilon: Double): Double = {
    val r = ThreadLocalRandom.current()
    val e = -math.log(1.0 - r.nextDouble())
    val n = e / epsilon
    if (r.nextBoolean()) n else -n
  }

  private def saturate(v: BigInteger, min: Long, max: Long): Long =
    if (v.compareTo(BigInteger.valueOf(max)) > 0) max
    else if (v.compareTo(BigInteger.valueOf(min)) < 0) min
    else v.longValue

  def diffPrivacy(t: DataType, v: Any, epsilon: Double): Any = {
    val noise = laplace(epsilon)
    def integral(x: Long, min: Long, max: Long): Long = {
      val rounded = new JBigDecimal(noise).setScale(0, RoundingMode.HALF_UP).toBigInteger
      saturate(BigInteger.valueOf(x).add(rounded), min, max)
    }
    t match {
      case DoubleType => v.asInstanceOf[Double] + noise
      case FloatType => (v.asInstanceOf[Float].toDouble + noise).toFloat
      case ByteType => integral(v.asInstanceOf[Byte].toLong, Byte.MinValue, Byte.MaxValue).toByte
      case ShortType => integral(v.asInstanceOf[Short].toLong, Short.MinValue, Short.MaxValue).toShort
      case IntegerType => integral(v.asInstanceOf[Int].toLong, Int.MinValue, Int.MaxValue).toInt
      case LongType => integral(v.asInstanceOf[Long], Long.MinValue, Long.MaxValue)
      case d: DecimalType =>
        val x = v.asInstanceOf[Decimal].toJavaBigDecimal
        var r = x.add(new JBigDecimal(noise)).setScale(d.scale, RoundingMode.HALF_UP)
        val bound = new JBigDecimal(BigInteger.TEN.pow(d.precision).subtract(BigInteger.ONE), d.scale)
        if (r.compareTo(bound) > 0) r = bound
        if (r.compareTo(bound.negate()) < 0) r = bound.negate()
        Decimal(r, d.precision, d.scale)
      case _ => null
    }
  }

  /** Check diff_privacy's epsilon (a literal's value and type); returns it as a double. */
  def checkEpsilon(value: Any, t: DataType): Double = {
    def bad(why: String) = throw new IllegalArgumentException(s"diff_privacy: epsilon $why")
    if (value == null) bad("must not be NULL")
    val e: Double = t match {
      case ByteType | ShortType | IntegerType | LongType => value.asInstanceOf[Number].doubleValue
      case FloatType => value.asInstanceOf[Float].toDouble
      case DoubleType => value.asInstanceOf[Double]
      case _: DecimalType => value.asInstanceOf[Decimal].toDouble
      case other => bad(s"must be a number, not ${other.catalogString}")
    }
    if (e.isNaN || e.isInfinite) bad("must be finite")
    if (e <= 0) bad("must be greater than 0")
    if ((1.0 / e).isInfinite) bad("is too small (1/epsilon is not finite)")
    e
  }

  def normalizeName(name: String): String = name.toLowerCase(Locale.ROOT)
}
