package io.lakegate.spark.rule.masking

import org.apache.spark.sql.catalyst.expressions.{Attribute, CaseWhen, Expression, Literal}

import io.lakegate.spark.builtins.Builtins
import io.lakegate.spark.client.{ColumnAction, ColumnDecision, MaskSpec}

/**
 * The value a column shows: itself, a builtin over it (MASKED), or for CONDITIONAL columns a
 * CASE over the planner's ordered cases, NULL when no case holds. Masks keep the column's name
 * and type, so a user's WHERE on a masked column compares masked values.
 */
object Masking {
  /** The builtin over the column; its type is the builtin's (sha2/fnv_hash: bigint, hash: string). */
  def maskExpr(m: MaskSpec, column: Attribute, parse: String => Expression): Expression =
    Builtins.fromMask(m.function, column, m.args, parse)

  /**
   * @param conditions the resolved conditions of the cases, in order
   */
  def columnExpr(cd: ColumnDecision, column: Attribute, conditions: Seq[Expression],
      parse: String => Expression): Option[Expression] = cd.action match {
    case ColumnAction.Visible => Some(column)
    case ColumnAction.Removed => None
    case ColumnAction.Masked => Some(maskExpr(cd.mask.get, column, parse))
    case ColumnAction.Conditional =>
      val branches = cd.cases.zip(conditions).map { case (c, cond) =>
        val v = c.action match {
          case ColumnAction.Masked => sameType(maskExpr(c.mask.get, column, parse), column)
          case _ => column
        }
        (cond, v)
      }
      Some(CaseWhen(branches, Some(Literal(null, column.dataType))))
  }

  /**
   * In a CASE every branch needs one type: a mask of another type (sha2 on a string column) is
   * cast to the column's type there, or NULL when the cast is impossible (never the raw value).
   */
  private def sameType(e: Expression, column: Attribute): Expression =
    if (e.dataType == column.dataType) e
    else if (org.apache.spark.sql.catalyst.expressions.Cast.canCast(e.dataType, column.dataType)) {
      org.apache.spark.sql.catalyst.expressions.Cast(e, column.dataType)
    } else Literal(null, column.dataType)
}
