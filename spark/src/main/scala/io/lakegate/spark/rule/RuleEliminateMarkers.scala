package io.lakegate.spark.rule

import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan
import org.apache.spark.sql.catalyst.rules.Rule

import io.lakegate.spark.plan.{LakegateGate, LakegateSecured}

/** Optimizer: the markers have done their work; leave Spark the plain Project and Filter. */
object RuleEliminateMarkers extends Rule[LogicalPlan] {
  override def apply(plan: LogicalPlan): LogicalPlan =
    plan.transformUpWithSubqueries {
      case m: LakegateSecured => m.child
      case g: LakegateGate => g.child
    }
}
