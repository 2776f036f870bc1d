package io.lakegate.spark.rule.collect

import org.apache.spark.sql.catalyst.analysis.{UnresolvedFunction, UnresolvedRelation}
import org.apache.spark.sql.catalyst.expressions.{Expression, SubqueryExpression}

import io.lakegate.spark.builtins.BuiltinFunctions
import org.apache.spark.sql.catalyst.plans.logical.{Command, LogicalPlan, SubqueryAlias}

import io.lakegate.spark.plan.LakegateGate

/**
 * Puts a LakegateGate around each table a parsed query reads, so that nothing above it is
 * resolved (in particular `*` is not expanded) before the decision is applied. Tables that are
 * direct operands of a command (INSERT/MERGE/UPDATE/DELETE targets, CACHE TABLE t, …) are left
 * alone: Spark resolves those itself.
 */
object Gates {
  def insert(plan: LogicalPlan, builtinsDb: String): LogicalPlan = renameBuiltins(gate(plan), builtinsDb)

  /** `okera_udfs.mask(x)` (`db` is the builtins database, OKERA_BUILTINS_DB) becomes the registered builtin. */
  def renameBuiltins(plan: LogicalPlan, db: String): LogicalPlan = {
    plan.transformUpWithSubqueries {
      case p => p.transformExpressionsUp { case f: UnresolvedFunction => renameBuiltin(f, db) }
    }
  }

  def renameBuiltin(f: UnresolvedFunction, db: String): UnresolvedFunction = f.nameParts match {
    case Seq(d, fn) if d.equalsIgnoreCase(db) && BuiltinFunctions.Names.contains(fn.toLowerCase(java.util.Locale.ROOT)) =>
      f.copy(nameParts = Seq(io.lakegate.spark.BuiltinNames.internal(fn.toLowerCase(java.util.Locale.ROOT))))
    case _ => f
  }

  def renameBuiltins(e: Expression, db: String): Expression = {
    e.transformUp { case f: UnresolvedFunction => renameBuiltin(f, db) }
  }

  private def gate(p: LogicalPlan): LogicalPlan = {
    val isCommand = p.isInstanceOf[Command]
    val withChildren = p.mapChildren {
      case u: UnresolvedRelation if !isCommand => LakegateGate(u)
      case u: UnresolvedRelation => u
      case s @ SubqueryAlias(_, _: UnresolvedRelation) if isCommand => s
      case c => gate(c)
    }
    withChildren.transformExpressions {
      case s: SubqueryExpression => s.withNewPlan(gate(s.plan))
    }
  }

  /** Last SQL text parsed on this thread, for the planner's audit log. */
  private val last = new ThreadLocal[String]
  def recordStatement(sql: String): Unit = last.set(sql)
  def lastStatement: String = Option(last.get).getOrElse("")
}
