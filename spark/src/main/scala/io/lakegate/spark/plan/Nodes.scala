package io.lakegate.spark.plan

import org.apache.spark.sql.catalyst.expressions.Attribute
import org.apache.spark.sql.catalyst.plans.logical.{Filter, LeafNode, LogicalPlan, Project, UnaryNode}

/**
 * Put by the parser around each relation a query reads, so that Spark does not expand `*` (or
 * resolve anything above it) before lakegate has applied the decision under the relation:
 * `SELECT *` then returns only the visible columns. The authorization rule replaces it.
 */
case class LakegateGate(child: LogicalPlan) extends UnaryNode {
  override def output: Seq[Attribute] = child.output
  override lazy val resolved: Boolean = false
  override protected def withNewChildInternal(newChild: LogicalPlan): LakegateGate = copy(child = newChild)
}

/** okera_sample.whoami before the planner has said who the user is. */
case class LakegateWhoAmI(output: Seq[Attribute]) extends LeafNode {
  override def simpleString(maxFields: Int): String = "LakegateWhoAmI okera_sample.whoami"
}

/** What a decision was applied to. */
sealed trait SiteKind
object SiteKind {
  case object Relation extends SiteKind
  case object View extends SiteKind
  case object WhoAmI extends SiteKind
}

/**
 * What a marker records about the decision it applied. It is not part of the plan's equality
 * (it sits in the marker's second parameter list), so two users with the same effective decision
 * get equal plans, and a cached result is shared only when the data is the same.
 *
 * @param principal who the decision was made for (the cache key of the credentials)
 * @param user      the user as the planner named them, for messages
 * @param effect    fingerprint of the decision's effect (columns, masks, row filter)
 * @param removed   lower-case names of the removed columns
 * @param kind      what is beneath: a relation, a permanent view, or okera_sample.whoami
 */
final case class SecureInfo(
    principal: String,
    user: String,
    objectName: String,
    policyVersion: Long,
    effect: String,
    removed: Seq[String],
    kind: SiteKind,
    hasProject: Boolean,
    hasFilter: Boolean)

/**
 * A relation (or permanent view) with the planner's decision applied directly above it:
 * `Project(masks) <- Filter(row filter) <- relation`. Spark's rules above see only this output.
 * Re-analysis keeps it when the decision for the current user has the same effect and rebuilds it
 * from the relation beneath otherwise (a temporary view built by another user, a changed policy).
 * An optimizer rule removes the marker itself, leaving Project and Filter.
 */
case class LakegateSecured(child: LogicalPlan)(val info: SecureInfo) extends UnaryNode {
  override def output: Seq[Attribute] = child.output
  override protected def otherCopyArgs: Seq[AnyRef] = info :: Nil
  override protected def withNewChildInternal(newChild: LogicalPlan): LakegateSecured =
    LakegateSecured(newChild)(info)
  override def simpleString(maxFields: Int): String =
    s"LakegateSecured ${info.objectName} for ${info.user}${if (info.removed.nonEmpty) info.removed.mkString(" removed [", ", ", "]") else ""}"

  /** The relation (or view) beneath, as it was before the decision was applied. */
  def raw: LogicalPlan = {
    var p = child
    if (info.hasProject) p = p.asInstanceOf[Project].child
    if (info.hasFilter) p = p.asInstanceOf[Filter].child
    p
  }

  /** The same decision over a new raw plan (whose output must be the old raw output). */
  def withRaw(newRaw: LogicalPlan): LakegateSecured = {
    def rebuild(p: LogicalPlan, project: Boolean, filter: Boolean): LogicalPlan =
      if (project) { val pr = p.asInstanceOf[Project]; pr.copy(child = rebuild(pr.child, false, filter)) }
      else if (filter) { val f = p.asInstanceOf[Filter]; f.copy(child = newRaw) }
      else newRaw
    LakegateSecured(rebuild(child, info.hasProject, info.hasFilter))(info)
  }
}
