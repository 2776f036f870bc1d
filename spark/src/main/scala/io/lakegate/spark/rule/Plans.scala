package io.lakegate.spark.rule

import org.apache.spark.sql.catalyst.AliasIdentifier
import org.apache.spark.sql.catalyst.analysis.UnresolvedRelation
import org.apache.spark.sql.catalyst.expressions.{AttributeReference, SubqueryExpression}
import org.apache.spark.sql.catalyst.plans.logical.{LogicalPlan, SubqueryAlias}
import org.apache.spark.sql.types.StringType

import io.lakegate.spark.plan.{LakegateGate, LakegateSecured, LakegateWhoAmI, SiteKind}
import io.lakegate.spark.rule.collect.Relations

/** Walking and rewriting plans the way every lakegate rule needs: subqueries included. */
object Plans {
  /** Apply f to the plan and to the plans of its subquery expressions, bottom up. */
  def transformAll(p: LogicalPlan)(f: PartialFunction[LogicalPlan, LogicalPlan]): LogicalPlan =
    p.transformUp {
      case n =>
        val withSubqueries = n.transformExpressions {
          case s: SubqueryExpression =>
            val np = transformAll(s.plan)(f)
            if (np eq s.plan) s else s.withNewPlan(np)
        }
        f.applyOrElse(withSubqueries, identity[LogicalPlan])
    }

  def unwrapGates(plan: LogicalPlan): LogicalPlan =
    transformAll(plan) { case g: LakegateGate if g.child.resolved => g.child }

  def isWhoAmI(parts: Seq[String]): Boolean = {
    val ps = parts.map(Relations.lower)
    ps.takeRight(2) == Seq(Relations.WhoAmIDatabase, Relations.WhoAmITable) &&
      (ps.size == 2 || (ps.size == 3 && ps.head == "spark_catalog"))
  }

  def resolveWhoAmI(plan: LogicalPlan): LogicalPlan =
    transformAll(plan) {
      case u: UnresolvedRelation if isWhoAmI(u.multipartIdentifier) =>
        SubqueryAlias(AliasIdentifier(Relations.WhoAmITable, Seq(Relations.WhoAmIDatabase)),
          LakegateWhoAmI(Seq(AttributeReference("user", StringType, nullable = false)())))
    }

  /** The relation or view beneath a marker, as it was before the decision. */
  def rawOf(m: LakegateSecured): LogicalPlan =
    if (m.info.kind == SiteKind.WhoAmI) LakegateWhoAmI(m.output) else m.raw

  def subqueryPlans(p: LogicalPlan): Seq[LogicalPlan] =
    p.expressions.flatMap(_.collect { case s: SubqueryExpression => s.plan })

  def isShowOrDescribe(p: LogicalPlan): Boolean = {
    val c = p.getClass.getSimpleName
    c.startsWith("Show") || c.startsWith("Describe")
  }
}
