package io.lakegate.spark.rule.collect

import scala.collection.mutable.ArrayBuffer

import org.apache.spark.sql.catalyst.plans.logical.{LogicalPlan, View}

import io.lakegate.spark.client.AuthObject
import io.lakegate.spark.plan.{LakegateGate, LakegateSecured}
import io.lakegate.spark.rule.Plans.{rawOf, subqueryPlans}

/** Finds the places that need a decision: relations, permanent views, markers. */
final class Collector(currentDb: String, targets: Seq[LogicalPlan]) {
  val sites: ArrayBuffer[(LogicalPlan, AuthObject)] = ArrayBuffer.empty
  /** Sources lakegate cannot name (refused). */
  val ungoverned: ArrayBuffer[String] = ArrayBuffer.empty

  private def relation(r: LogicalPlan, site: LogicalPlan, underView: String): Unit = Relations.reads(r, currentDb) match {
    case Reads.Objects(os) => os.foreach(o => sites += site -> o.copy(underView = underView))
    case Reads.InternalData =>
    case Reads.Ungoverned(what) => ungoverned += what
  }

  private def isTarget(p: LogicalPlan): Boolean = targets.exists(_ eq p)

  def walk(p: LogicalPlan, underView: String): Unit = p match {
    case g: LakegateGate => if (g.child.resolved) walk(g.child, underView)
    case m: LakegateSecured =>
      rawOf(m) match {
        case v: View =>
          sites += m -> Relations.viewObject(v, underView, currentDb)
          walk(v.child, Relations.viewName(v, currentDb))
        case r => relation(r, m, underView)
      }
    case t if isTarget(t) =>
    case v: View if !v.isTempView =>
      sites += v -> Relations.viewObject(v, underView, currentDb)
      walk(v.child, Relations.viewName(v, currentDb))
    case r if Relations.isRelation(r) => relation(r, r, underView)
    case other =>
      other.children.foreach(walk(_, underView))
      subqueryPlans(other).foreach(walk(_, underView))
  }
}
