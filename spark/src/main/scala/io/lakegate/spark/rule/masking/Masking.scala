package io.lakegate.spark.rule.masking

import org.apache.spark.sql.catalyst.expressions.{Attribute, CaseWhen, Expression, Literal}

import io.lakegate.spark.LakegateErrors
import io.lakegate.spark.builtins.Builtins
import io.lakegate.spark.client.{ColumnAction, ColumnDecision, MaskSpec}

/**
 * The value a column shows: itself, a builtin over it (MASKED), or for CONDITIONAL columns a
 * CASE over the planner's ordered cases, NULL when no case holds. Masks keep the column's name
 * and type, so a user's WHERE on a masked column compares masked values.
 */
object Masking {
  def maskExpr(m: MaskSpec, column: Attribute, parse: String => Expression): Expression = {
    val e = Builtins.fromMask(m.function, column, m.args, parse)
    if (e.dataType != column.dataType && !Set("sha2", "hash", "fnv_hash").contains(m.function.toLowerCase(java.util.Locale.ROOT))) {
      throw LakegateErrors.failure(s"mask ${m.function} changes the type of ${column.name}")
    }
    e
  }

  /**
   * @param conditions the resolved conditions of the cases, in order
   */
  def columnExpr(cd: ColumnDecision, column: Attribute, conditions: Seq[Expression],
      parse: String => Expression): Option[Expression] = cd.action match {
    case ColumnAction.Visible => Some(column)
    case ColumnAction.Removed => None
    case ColumnAction.Masked => Some(castBack(maskExpr(cd.mask.get, column, parse), column))
    case ColumnAction.Conditional =>
      val branches = cd.cases.zip(conditions).map { case (c, cond) =>
        val v = c.action match {
          case ColumnAction.Masked => castBack(maskExpr(c.mask.get, column, parse), column)
          case _ => column
        }
        (cond, v)
      }
      Some(CaseWhen(branches, Some(Literal(null, column.dataType))))
  }

  /**
   * A mask that returns another type (sha2 and fnv_hash give bigint, hash gives string) on a
   * column of a different type would change the column's type under the query; those columns
   * show the masked value cast back to the column's type, or NULL when it does not convert.
   */
  private def castBack(e: Expression, column: Attribute): Expression =
    if (e.dataType == column.dataType) e
    else org.apache.spark.sql.catalyst.expressions.Cast(e, column.dataType)
}
