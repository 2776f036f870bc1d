package io.lakegate.spark.builtins

import org.apache.spark.sql.catalyst.InternalRow
import org.apache.spark.sql.catalyst.expressions.{Expression, Literal, Nondeterministic, UnaryExpression}
import org.apache.spark.sql.catalyst.expressions.codegen.CodegenFallback
import org.apache.spark.sql.types.DataType

import io.lakegate.spark.LakegateErrors

/** A deterministic builtin applied to a column: okera_udfs.mask(x), … */
case class LakegateBuiltin(fn: String, child: Expression) extends UnaryExpression with CodegenFallback {
  override def dataType: DataType = BuiltinFunctions.resultType(fn, child.dataType)
  override def nullable: Boolean = true
  override def prettyName: String = fn
  override protected def nullSafeEval(input: Any): Any = BuiltinFunctions.eval(fn, child.dataType, input, 1.0)
  override protected def withNewChildInternal(newChild: Expression): LakegateBuiltin = copy(child = newChild)
}

/** random_ccn and diff_privacy: a new value on every call. */
case class LakegateRandomBuiltin(fn: String, child: Expression, epsilon: Double)
  extends UnaryExpression with Nondeterministic with CodegenFallback {
  override def dataType: DataType = BuiltinFunctions.resultType(fn, child.dataType)
  override def nullable: Boolean = true
  override def prettyName: String = fn
  override protected def initializeInternal(partitionIndex: Int): Unit = ()
  override protected def evalInternal(input: InternalRow): Any = {
    val v = child.eval(input)
    if (v == null) null else BuiltinFunctions.eval(fn, child.dataType, v, epsilon)
  }
  override protected def withNewChildInternal(newChild: Expression): LakegateRandomBuiltin = copy(child = newChild)
}

object Builtins {
  /**
   * The expression for fn(args): the column first, then literal arguments (only diff_privacy
   * takes one, epsilon, default 1.0). Wrong arity or a bad literal is an error, also when the
   * column is NULL.
   */
  def build(fn0: String, args: Seq[Expression]): Expression = {
    val fn = BuiltinFunctions.normalizeName(fn0)
    if (!BuiltinFunctions.Names.contains(fn)) {
      throw LakegateErrors.failure(s"unknown builtin function '$fn0'; the builtins are ${BuiltinFunctions.Names.mkString(", ")}")
    }
    val maxArgs = if (fn == "diff_privacy") 2 else 1
    if (args.isEmpty || args.size > maxArgs) {
      throw LakegateErrors.failure(s"$fn takes ${if (maxArgs == 1) "one argument" else "one or two arguments"}, " +
        s"not ${args.size}")
    }
    if (fn == "diff_privacy") {
      val eps = args.lift(1) match {
        case None => 1.0
        case Some(e) =>
          if (!e.foldable) throw LakegateErrors.failure("diff_privacy: epsilon must be a literal")
          try BuiltinFunctions.checkEpsilon(e.eval(), e.dataType) catch {
            case ex: IllegalArgumentException => throw LakegateErrors.failure(ex.getMessage)
          }
      }
      LakegateRandomBuiltin(fn, args.head, eps)
    } else if (fn == "random_ccn") {
      LakegateRandomBuiltin(fn, args.head, 1.0)
    } else {
      LakegateBuiltin(fn, args.head)
    }
  }

  /** The expression for a planner mask: fn(column, args as SQL literals). */
  def fromMask(fn: String, column: Expression, args: Seq[String],
      parse: String => Expression): Expression = {
    val lits = args.map { a =>
      val e = try parse(a) catch {
        case ex: Exception => throw LakegateErrors.failure(s"the mask argument '$a' of $fn does not parse: ${ex.getMessage}")
      }
      if (!e.foldable) throw LakegateErrors.failure(s"the mask argument '$a' of $fn is not a literal")
      Literal(e.eval(), e.dataType)
    }
    build(fn, column +: lits)
  }
}
