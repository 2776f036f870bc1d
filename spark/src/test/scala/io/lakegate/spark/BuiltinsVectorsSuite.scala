package io.lakegate.spark

import java.io.File
import java.math.{BigDecimal => JBigDecimal}
import java.time.LocalDate

import scala.collection.JavaConverters._

import com.fasterxml.jackson.databind.{JsonNode, ObjectMapper}
import org.apache.spark.sql.catalyst.InternalRow
import org.apache.spark.sql.catalyst.expressions.{Expression, Literal, Nondeterministic}
import org.apache.spark.sql.types._
import org.apache.spark.unsafe.types.UTF8String
import org.scalatest.funsuite.AnyFunSuite

import io.lakegate.spark.builtins.{BuiltinFunctions, Builtins}

/** Every case and property of testdata/builtins/vectors.json, the file the Go suite also reads. */
class BuiltinsVectorsSuite extends AnyFunSuite {

  private def repoRoot: File = {
    val fromProp = Option(System.getProperty("lakegate.repo.root")).map(new File(_))
    fromProp.filter(f => new File(f, "testdata/builtins/vectors.json").isFile).getOrElse {
      var d = new File(".").getAbsoluteFile
      while (d != null && !new File(d, "testdata/builtins/vectors.json").isFile) d = d.getParentFile
      assert(d != null, "cannot find testdata/builtins/vectors.json above the build directory")
      d
    }
  }

  private lazy val doc: JsonNode = new ObjectMapper().readTree(new File(repoRoot, "testdata/builtins/vectors.json"))

  /** (Catalyst internal value, type) of a JSON value. */
  private def value(n: JsonNode): (Any, DataType) = {
    val t = DataType.fromDDL(n.get("type").asText)
    val v = n.get("value")
    if (v == null || v.isNull) return (null, t)
    val x: Any = t match {
      case _: StringType => UTF8String.fromString(v.asText)
      case ByteType => v.asLong.toByte
      case ShortType => v.asLong.toShort
      case IntegerType => v.asLong.toInt
      case LongType => v.asLong
      case DoubleType => if (v.isTextual) v.asText.toDouble else v.asDouble
      case FloatType => if (v.isTextual) v.asText.toFloat else v.asText.toFloat
      case d: DecimalType => Decimal(new JBigDecimal(v.asText), d.precision, d.scale)
      case BooleanType => v.asBoolean
      case DateType => LocalDate.parse(v.asText).toEpochDay.toInt
      case other => fail(s"unexpected type $other")
    }
    (x, t)
  }

  private def build(fn: String, args: Seq[JsonNode]): Expression =
    Builtins.build(fn, args.map { a => val (v, t) = value(a); Literal(v, t) })

  private def eval(e: Expression): Any = {
    e match { case n: Nondeterministic => n.initialize(0); case _ => }
    e.eval(InternalRow.empty)
  }

  private def same(t: DataType, got: Any, want: Any): Boolean = (got, want) match {
    case (null, null) => true
    case (null, _) | (_, null) => false
    case (g: Double, w: Double) => (g.isNaN && w.isNaN) || g == w
    case (g: Float, w: Float) => (g.isNaN && w.isNaN) || g == w
    case (g: Decimal, w: Decimal) => g.toJavaBigDecimal.compareTo(w.toJavaBigDecimal) == 0
    case (g, w) => g == w
  }

  test("the file is version 1 and has cases and properties") {
    assert(doc.get("version").asInt == 1)
    assert(doc.get("cases").size > 100)
    assert(doc.get("properties").size > 10)
  }

  test("every case gives the expected result (type and value) or error") {
    val failures = doc.get("cases").elements().asScala.flatMap { c =>
      val fn = c.get("fn").asText
      val args = c.get("args").elements().asScala.toSeq
      val desc = s"$fn(${args.map(a => a.get("value").toString + ":" + a.get("type").asText).mkString(", ")})"
      val wantError = c.has("error") && c.get("error").asBoolean
      val outcome = try {
        val e = build(fn, args)
        Right((eval(e), e.dataType))
      } catch { case ex: Exception => Left(ex) }
      (outcome, wantError) match {
        case (Left(_), true) => None
        case (Right((v, _)), true) => Some(s"$desc: expected an error, got $v")
        case (Left(ex), false) => Some(s"$desc: unexpected error $ex")
        case (Right((v, t)), false) =>
          val (want, wantType) = value(c.get("result"))
          if (t.catalogString != wantType.catalogString) Some(s"$desc: type ${t.catalogString}, want ${wantType.catalogString}")
          else if (!same(t, v, want)) Some(s"$desc: got $v, want $want")
          else None
      }
    }.toList
    assert(failures.isEmpty, failures.mkString("\n"))
  }

  private def inRange(t: DataType, v: Any): Boolean = t match {
    case ByteType | ShortType | IntegerType | LongType => true // the JVM type itself bounds the value
    case d: DecimalType => v.asInstanceOf[Decimal].toJavaBigDecimal.precision - v.asInstanceOf[Decimal].toJavaBigDecimal.scale <= d.precision - d.scale
    case _ => true
  }

  private def asBig(t: DataType, v: Any): JBigDecimal = t match {
    case ByteType => JBigDecimal.valueOf(v.asInstanceOf[Byte].toLong)
    case ShortType => JBigDecimal.valueOf(v.asInstanceOf[Short].toLong)
    case IntegerType => JBigDecimal.valueOf(v.asInstanceOf[Int].toLong)
    case LongType => JBigDecimal.valueOf(v.asInstanceOf[Long])
    case DoubleType => new JBigDecimal(v.asInstanceOf[Double])
    case FloatType => new JBigDecimal(v.asInstanceOf[Float].toDouble)
    case _: DecimalType => v.asInstanceOf[Decimal].toJavaBigDecimal
  }

  private def bounds(t: DataType): (JBigDecimal, JBigDecimal) = t match {
    case ByteType => (JBigDecimal.valueOf(Byte.MinValue.toLong), JBigDecimal.valueOf(Byte.MaxValue.toLong))
    case ShortType => (JBigDecimal.valueOf(Short.MinValue.toLong), JBigDecimal.valueOf(Short.MaxValue.toLong))
    case IntegerType => (JBigDecimal.valueOf(Int.MinValue.toLong), JBigDecimal.valueOf(Int.MaxValue.toLong))
    case LongType => (JBigDecimal.valueOf(Long.MinValue), JBigDecimal.valueOf(Long.MaxValue))
    case d: DecimalType =>
      val m = new JBigDecimal(java.math.BigInteger.TEN.pow(d.precision).subtract(java.math.BigInteger.ONE), d.scale)
      (m.negate(), m)
  }

  test("every property holds") {
    doc.get("properties").elements().asScala.foreach { p =>
      val fn = p.get("fn").asText
      val args = p.get("args").elements().asScala.toSeq
      val draws = p.get("draws").asInt
      val (x, t) = value(args.head)
      val e = build(fn, args)
      val results = (1 to draws).map(_ => eval(e))
      assert(results.forall(_ != null), s"$fn: a NULL draw")
      p.get("check").asText match {
        case "luhn16" =>
          val ss = results.map(_.toString)
          ss.foreach { s =>
            assert(s.length == 16 && s.forall(_.isDigit) && s.head == '4' && BuiltinFunctions.luhnValid(s), s"$fn: bad ccn $s")
          }
          if (p.has("distinct") && p.get("distinct").asBoolean) assert(ss.distinct.size == draws, s"$fn: repeated values")
        case "laplace" =>
          assert(e.dataType == t)
          results.foreach(r => assert(inRange(t, r), s"$fn: $r out of range"))
          val noise = results.map(r => asBig(t, r).subtract(asBig(t, x)).doubleValue)
          val mean = noise.sum / draws
          val absMean = noise.map(math.abs).sum / draws
          val meanTol = Option(p.get("mean_tol")).map(_.asDouble).getOrElse(0.0)
          val absWant = Option(p.get("abs_mean")).map(_.asDouble).getOrElse(0.0)
          val absTol = Option(p.get("abs_mean_tol")).map(_.asDouble).getOrElse(0.0)
          assert(math.abs(mean) <= meanTol, s"$fn ${args.map(_.toString)}: mean noise $mean")
          assert(math.abs(absMean - absWant) <= absTol, s"$fn ${args.map(_.toString)}: mean |noise| $absMean, want $absWant")
        case "saturates" =>
          val (lo, hi) = bounds(t)
          val vals = results.map(asBig(t, _))
          vals.foreach(v => assert(v.compareTo(lo) >= 0 && v.compareTo(hi) <= 0))
          assert(vals.exists(v => v.compareTo(lo) == 0 || v.compareTo(hi) == 0), s"$fn ${args.map(_.toString)}: never saturates")
        case other => fail(s"unknown check $other")
      }
    }
  }
}
