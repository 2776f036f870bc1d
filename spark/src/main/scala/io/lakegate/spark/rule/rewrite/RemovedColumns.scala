package io.lakegate.spark.rule.rewrite

import org.apache.spark.sql.catalyst.analysis.UnresolvedAttribute
import org.apache.spark.sql.catalyst.expressions.ExprId
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan

import io.lakegate.spark.LakegateErrors
import io.lakegate.spark.plan.{LakegateSecured, SecureInfo}
import io.lakegate.spark.rule.Plans.subqueryPlans
import io.lakegate.spark.rule.collect.Relations

/** A removed column is gone: anything that still names or uses it fails as "not authorized". */
object RemovedColumns {
  /** A node above a marker that still uses a removed column: the user named it. */
  def failOnRemovedReferences(plan: LogicalPlan, removed: Map[ExprId, (String, String)], user: String): Unit = {
    def check(p: LogicalPlan): Unit = p match {
      case _: LakegateSecured =>
      case n =>
        if (n.resolved) {
          n.missingInput.foreach { a =>
            removed.get(a.exprId).foreach { case (col, obj) => throw notAuthorized(user, col, obj) }
          }
        }
        n.children.foreach(check)
        subqueryPlans(n).foreach(check)
    }
    check(plan)
  }

  def notAuthorized(user: String, column: String, objectName: String) =
    LakegateErrors.denied(s"user $user is not authorized to read column $column of $objectName " +
      "(the planner's policy removes it for this user)")

  /**
   * A name that stays unresolved over a relation whose decision removed a column of that name:
   * the user named a column they may not read (Spark would only say it does not exist).
   */
  def failOnRemovedNames(plan: LogicalPlan): Unit = {
    def markers(p: LogicalPlan): Seq[SecureInfo] = p.collect { case m: LakegateSecured => m.info }
    def check(p: LogicalPlan): Unit = {
      if (p.childrenResolved && !p.resolved) {
        val names = p.expressions.flatMap(_.collect { case u: UnresolvedAttribute => Relations.lower(u.nameParts.last) })
        if (names.nonEmpty) {
          val infos = p.children.flatMap(markers)
          names.foreach { n =>
            infos.find(_.removed.contains(n)).foreach(i => throw notAuthorized(i.user, n, i.objectName))
          }
        }
      }
      p.children.foreach(check)
      subqueryPlans(p).foreach(check)
    }
    check(plan)
  }
}
