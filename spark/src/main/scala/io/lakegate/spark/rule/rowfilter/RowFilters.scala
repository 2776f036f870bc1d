package io.lakegate.spark.rule.rowfilter

import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.catalyst.expressions.{Alias, Attribute, Expression}
import org.apache.spark.sql.catalyst.plans.logical.{Filter, LocalRelation, LogicalPlan, Project}
import org.apache.spark.sql.types.BooleanType
import org.apache.spark.sql.lakegate.SessionAccess

import io.lakegate.spark.{Guard, LakegateErrors, SparkShim}

/**
 * Row filters and the conditions of CONDITIONAL columns arrive as SQL text with the helpers
 * (user(), has_roles(), …) already bound. They are parsed with Spark's own SQL parser and
 * resolved against the relation's raw columns, so a filter always sees raw values, never
 * masked ones.
 */
object RowFilters {
  /** Resolve boolean SQL expressions over `output` (one small analysis for all of them). */
  def resolveConditions(session: SparkSession, sqls: Seq[String], output: Seq[Attribute], objectName: String): Seq[Expression] = {
    if (sqls.isEmpty) return Nil
    val parsed = sqls.map { s =>
      try SessionAccess.parser(session).parseExpression(s) catch {
        case e: Exception =>
          throw LakegateErrors.failure(s"the planner's row filter or column condition for $objectName does not parse " +
            s"in Spark: '$s': ${firstLine(e.getMessage)}")
      }
    }
    val plan = Project(parsed.zipWithIndex.map { case (e, i) => Alias(e, s"_lakegate_c$i")() }, LocalRelation(output))
    val analyzed = try Guard {
      val a = SessionAccess.analyzer(session).execute(plan)
      SessionAccess.analyzer(session).checkAnalysis(a)
      a
    } catch {
      case e: Exception =>
        throw LakegateErrors.failure(s"the planner's row filter or column condition for $objectName does not apply " +
          s"to its columns: ${firstLine(e.getMessage)}")
    }
    val exprs = analyzed match {
      case Project(list, _) => list.map {
        case Alias(c, _) => c
        case other => other
      }
      case _ => throw LakegateErrors.failure(s"cannot resolve the row filter of $objectName")
    }
    exprs.zip(sqls).foreach { case (e, s) =>
      if (e.dataType != BooleanType) {
        throw LakegateErrors.failure(s"the row filter or condition '$s' for $objectName is not a boolean expression")
      }
    }
    exprs
  }

  def apply(condition: Option[Expression], raw: LogicalPlan): LogicalPlan =
    condition.map(Filter(_, raw)).getOrElse(raw)

  private def firstLine(s: String): String = Option(s).getOrElse("").split("\n").headOption.getOrElse("")
}
