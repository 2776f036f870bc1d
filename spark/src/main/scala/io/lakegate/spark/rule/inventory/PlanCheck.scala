package io.lakegate.spark.rule.inventory

import org.apache.spark.sql.catalyst.expressions.SubqueryExpression
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan

import io.lakegate.spark.rule.command.Commands.Refusal

/**
 * Walks a whole analysed plan (subqueries included) against the inventory: a node of an unknown
 * class, a refused node, a command anywhere but at the root, or a JVM call in an expression is a
 * refusal. Returns the root's spec.
 */
object PlanCheck {
  private val JvmCallExpressions = Set(
    "org.apache.spark.sql.catalyst.expressions.CallMethodViaReflection",
    "org.apache.spark.sql.catalyst.expressions.TryReflect")

  val AskJvm = "Ask an administrator for a single-user cluster, where spark.lakegate.allowJvmCalls may be turned on"
  val AskUnknown = "Ask an administrator: the plan class must be classified in lakegate's inventory " +
    "(or listed in spark.lakegate.trustedPlanClasses if it holds no governed data)"

  /** A refusal with what to ask for. */
  final class Refused(what: String, val ask: String) extends Refusal(what)

  def check(plan: LogicalPlan, trusted: Set[String], allowJvmCalls: Boolean): Option[Spec] = {
    def visit(p: LogicalPlan, root: Boolean): Unit = {
      Inventory.specOf(p, trusted) match {
        case None => throw new Refused(s"run a plan containing ${p.getClass.getName}, which lakegate does not know " +
          "(default deny)", AskUnknown)
        case Some(Spec.Refused(why)) => throw new Refused(s"run ${p.nodeName}: $why", "Ask an administrator if you need it")
        case Some(Spec.Cmd(_)) if !root => throw new Refused(s"run ${p.nodeName} inside another statement", AskUnknown)
        case _ =>
      }
      p.children.foreach(visit(_, root = false))
      // A command's query held beside the tree (CTAS, CREATE VIEW, a scoped command's CTAS).
      p.innerChildren.foreach {
        case lp: LogicalPlan => visit(lp, root = true)
        case _ =>
      }
      // One walk of the expressions: subqueries, and JVM calls.
      p.expressions.foreach(_.foreach {
        case s: SubqueryExpression => visit(s.plan, root = false)
        case e if !allowJvmCalls && JvmCallExpressions.contains(e.getClass.getName) =>
          throw new Refused("call reflect or java_method: they run JVM code on the driver, which could read the key " +
            "that vouches for every user of this cluster", AskJvm)
        case _ =>
      })
    }
    visit(plan, root = true)
    Inventory.specOf(plan, trusted)
  }
}
