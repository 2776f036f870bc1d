package io.lakegate.spark.rule.rewrite

import java.util.IdentityHashMap

import scala.collection.mutable.ArrayBuffer

import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.catalyst.InternalRow
import org.apache.spark.sql.catalyst.expressions.{Alias, Attribute, AttributeReference, ExprId, Expression, NamedExpression, SubqueryExpression}
import org.apache.spark.sql.catalyst.plans.logical.{LocalRelation, LogicalPlan, Project, View}
import org.apache.spark.sql.types.StringType
import org.apache.spark.unsafe.types.UTF8String
import org.apache.spark.sql.lakegate.SessionAccess

import io.lakegate.spark.Decisions
import io.lakegate.spark.client.{ColumnAction, ColumnDecision, ObjectDecision}
import io.lakegate.spark.plan.{LakegateGate, LakegateSecured, LakegateWhoAmI, SecureInfo, SiteKind}
import io.lakegate.spark.rule.Plans.rawOf
import io.lakegate.spark.rule.collect.Relations
import io.lakegate.spark.rule.masking.Masking
import io.lakegate.spark.rule.rowfilter.RowFilters

/** Applies the decisions at the collected places. */
final class Rewriter(session: SparkSession, decisions: Decisions,
    byNode: IdentityHashMap[LogicalPlan, ArrayBuffer[ObjectDecision]], targets: Seq[LogicalPlan]) {
  /** ExprIds of removed columns, with (column, object) for messages. */
  val removed: ArrayBuffer[(ExprId, (String, String))] = ArrayBuffer.empty

  private def isTarget(p: LogicalPlan): Boolean = targets.exists(_ eq p)

  /** The decision that shapes a node's data: its table decision (URI decisions have none). */
  private def decisionOf(node: LogicalPlan): Option[ObjectDecision] = {
    val ds = byNode.get(node)
    if (ds == null) None
    else ds.find(d => d.whoami || d.columns.nonEmpty || d.rowFilter.nonEmpty).orElse(ds.headOption)
  }

  private def effectOf(d: ObjectDecision): String =
    if (d.whoami) "whoami:" + decisions.user else d.effect

  private def parse(s: String): Expression = SessionAccess.parser(session).parseExpression(s)

  /** Attribute replacements for the plan above: masked columns get new ExprIds. */
  type Mapping = Seq[(Attribute, Attribute)]

  def rewrite(p: LogicalPlan): LogicalPlan = rewriteM(p)._1

  private def rewriteM(p: LogicalPlan): (LogicalPlan, Mapping) = p match {
    case g: LakegateGate => if (g.child.resolved) rewriteM(g.child) else (g, Nil)
    case m: LakegateSecured =>
      val raw = rawOf(m)
      val (newRaw, rawMapping) = raw match {
        case v: View => rewriteView(v)
        case r => (r, Nil)
      }
      decisionOf(m) match {
        case Some(d) if effectOf(d) != m.info.effect => secure(newRaw, d, m.output, m.info.kind)
        case _ => if (newRaw eq raw) (m, Nil) else (m.withRaw(newRaw), rawMapping)
      }
    case t if isTarget(t) => (t, Nil)
    case v: View if !v.isTempView =>
      val (nv, mapping) = rewriteView(v)
      decisionOf(v) match {
        case Some(d) if !d.unrestricted => secure(nv, d, v.output, SiteKind.View)
        case _ => (nv, mapping)
      }
    case r if Relations.isRelation(r) =>
      decisionOf(r) match {
        case Some(d) if !d.unrestricted || r.isInstanceOf[LakegateWhoAmI] =>
          secure(r, d, r.output, if (d.whoami) SiteKind.WhoAmI else SiteKind.Relation)
        case _ => (r, Nil)
      }
    case other =>
      val rewritten = other.children.map(rewriteM)
      val mapping = rewritten.flatMap(_._2)
      var c = if (rewritten.map(_._1).zip(other.children).forall { case (a, b) => a eq b }) other
        else other.withNewChildren(rewritten.map(_._1))
      if (c.expressions.exists(_.find(_.isInstanceOf[SubqueryExpression]).isDefined)) {
        c = c.transformExpressions {
          case s: SubqueryExpression =>
            val (np, _) = rewriteM(s.plan)
            if (np eq s.plan) s else s.withNewPlan(np)
        }
      }
      if (mapping.nonEmpty) c = Rewriter.replaceAttributes(c, mapping)
      (c, mapping)
  }

  private def rewriteView(v: View): (View, Mapping) = {
    val (nc, m) = rewriteM(v.child)
    if (nc eq v.child) (v, Nil) else (v.copy(child = nc), m)
  }

  /**
   * Apply decision d above raw. `old` are the attributes the plan above uses for this
   * relation (matched by name): visible columns keep theirs, masked ones get new ExprIds
   * (Spark would otherwise take the masking Project for a no-op), removed ones vanish.
   */
  private def secure(raw: LogicalPlan, d: ObjectDecision, old: Seq[Attribute], kind: SiteKind): (LogicalPlan, Mapping) = {
    val oldByName = old.map(a => Relations.lower(a.name) -> a).toMap
    val info = (project: Boolean, filter: Boolean, removedNames: Seq[String], k: SiteKind) =>
      SecureInfo(decisions.principal, decisions.user, d.objectName, decisions.policyVersion, effectOf(d),
        removedNames, k, project, filter)
    if (d.whoami) {
      val a = oldByName.get("user").orElse(raw.output.find(_.name.equalsIgnoreCase("user")))
        .map(x => AttributeReference("user", StringType, nullable = false)(exprId = x.exprId))
        .getOrElse(AttributeReference("user", StringType, nullable = false)())
      val lr = LocalRelation(Seq(a), Seq(InternalRow(UTF8String.fromString(decisions.user))))
      return (LakegateSecured(lr)(info(false, false, Nil, SiteKind.WhoAmI)), Nil)
    }
    val out = raw.output
    val cols = if (d.columns.isEmpty) out.map(a => ColumnDecision(a.name, ColumnAction.Visible)) else d.columns
    val conditionSql = (if (d.rowFilter.nonEmpty) Seq(d.rowFilter) else Nil) ++
      cols.flatMap(c => if (c.action == ColumnAction.Conditional) c.cases.map(_.condition) else Nil)
    val resolved = RowFilters.resolveConditions(session, conditionSql, out, d.objectName)
    val (filterExpr, caseConds) =
      if (d.rowFilter.nonEmpty) (Some(resolved.head), resolved.tail) else (None, resolved)
    var remainingConds = caseConds
    val removedNames = ArrayBuffer.empty[String]
    val mapping = ArrayBuffer.empty[(Attribute, Attribute)]
    var changed = false
    val projectList: Seq[NamedExpression] = out.zip(cols).flatMap { case (a, cd) =>
      val conds = if (cd.action == ColumnAction.Conditional) {
        val (mine, rest) = remainingConds.splitAt(cd.cases.size)
        remainingConds = rest
        mine
      } else Nil
      val o = oldByName.getOrElse(Relations.lower(a.name), a)
      Masking.columnExpr(cd, a, conds, parse) match {
        case None =>
          removedNames += Relations.lower(a.name)
          removed += o.exprId -> ((a.name, d.objectName))
          changed = true
          None
        case Some(e: Attribute) =>
          if (o.exprId != e.exprId) mapping += o -> e
          Some(e)
        case Some(e) =>
          changed = true
          val n = Alias(e, a.name)()
          mapping += o -> n.toAttribute
          Some(n)
      }
    }
    val filtered = RowFilters(filterExpr, raw)
    val projected = if (changed) Project(projectList, filtered) else filtered
    if (!changed && filterExpr.isEmpty) (raw, mapping.toSeq)
    else (LakegateSecured(projected)(info(changed, filterExpr.isDefined, removedNames.toSeq, kind)), mapping.toSeq)
  }
}

object Rewriter {
  /**
   * Point the references of a node (and of its subqueries' outer references) at the new
   * attributes: a mask may change a column's type (sha2 gives bigint), so the whole attribute is
   * replaced, not only its ExprId.
   */
  def replaceAttributes(node: LogicalPlan, mapping: Seq[(Attribute, Attribute)]): LogicalPlan = {
    val byId = mapping.map { case (o, n) => o.exprId -> n }.toMap
    def swap(e: Expression): Expression = e.transform {
      case a: AttributeReference if byId.contains(a.exprId) =>
        val n = byId(a.exprId)
        AttributeReference(n.name, n.dataType, n.nullable, n.metadata)(n.exprId, a.qualifier)
      case s: SubqueryExpression =>
        s.withNewPlan(s.plan.transformUp { case p => p.transformExpressions {
          case o: org.apache.spark.sql.catalyst.expressions.OuterReference => o.withNewChildren(Seq(swap(o.e))).asInstanceOf[Expression]
        } })
    }
    node.mapExpressions(swap)
  }

  /** The attribute an alias only renames or casts (as views' output projections do). */
  private def passThrough(e: Expression): Option[Attribute] = e match {
    case a: Attribute => Some(a)
    case c: org.apache.spark.sql.catalyst.expressions.Cast => passThrough(c.child)
    case u: org.apache.spark.sql.catalyst.expressions.UpCast => passThrough(u.child)
    case _ => None
  }

  /**
   * A temporary view built by someone who could see a column passes it through its projections;
   * for a reader from whom the column is removed, drop it from those pass-through projections
   * (the view's `SELECT *` shows what the reader may see). Anything else that still uses it fails.
   */
  def pruneInTempViews(plan: LogicalPlan, removed0: Map[ExprId, (String, String)]): (LogicalPlan, Map[ExprId, (String, String)]) = {
    var removed = removed0
    def prune(p: LogicalPlan): LogicalPlan = p match {
      case m: LakegateSecured => m
      case pr: Project =>
        val np = pr.mapChildren(prune).asInstanceOf[Project]
        val kept = np.projectList.filter {
          case a: Attribute if removed.contains(a.exprId) => false
          case al: Alias if passThrough(al.child).exists(a => removed.contains(a.exprId)) =>
            removed += al.exprId -> removed(passThrough(al.child).get.exprId)
            false
          case _ => true
        }
        if (kept.size == np.projectList.size) np else np.copy(projectList = kept)
      case other => other.mapChildren(prune)
    }
    def walk(p: LogicalPlan): LogicalPlan = p match {
      case m: LakegateSecured => m
      case v: View if v.isTempView =>
        val nc = prune(v.child)
        if (nc eq v.child) v else v.copy(child = nc)
      case other => other.mapChildren(walk)
    }
    val out = walk(plan)
    (out, removed)
  }
}
