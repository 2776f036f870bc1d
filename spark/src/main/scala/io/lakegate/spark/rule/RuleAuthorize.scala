package io.lakegate.spark.rule

import java.util.IdentityHashMap

import scala.collection.mutable.ArrayBuffer
import scala.util.Try

import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.catalyst.InternalRow
import org.apache.spark.sql.catalyst.analysis.{AnalysisContext, UnresolvedAttribute, UnresolvedRelation}
import org.apache.spark.sql.catalyst.expressions.{Alias, Attribute, AttributeMap, AttributeReference, ExprId, Expression, NamedExpression, SubqueryExpression}
import org.apache.spark.sql.catalyst.plans.logical.{AnalysisHelper, LocalRelation, LogicalPlan, Project, SubqueryAlias, View}
import org.apache.spark.sql.catalyst.rules.Rule
import org.apache.spark.sql.catalyst.AliasIdentifier
import org.apache.spark.sql.types.StringType
import org.apache.spark.unsafe.types.UTF8String
import org.apache.spark.sql.lakegate.SessionAccess

import io.lakegate.spark.{Decisions, Guard, LakegateErrors, LakegateRuntime, SparkShim}
import io.lakegate.spark.auth.Identity
import io.lakegate.spark.client.{Action, AuthObject, ColumnAction, ObjectDecision, ViewRead}
import io.lakegate.spark.ensemble.OkeraFs
import io.lakegate.spark.plan.{LakegateGate, LakegateSecured, LakegateWhoAmI, SecureInfo}
import io.lakegate.spark.rule.collect.{Gates, Reads, Relations}
import io.lakegate.spark.rule.command.{CommandScope, Commands, ScopedCommand, ShowDescribe}
import io.lakegate.spark.rule.inventory.{Inventory, MetaLevel, PlanCheck, Spec}
import io.lakegate.spark.rule.masking.Masking
import io.lakegate.spark.rule.rowfilter.RowFilters

/**
 * The authorization rule, injected twice: at the end of the analyzer's resolution batch (so a
 * decision is applied before anything above the relation is resolved) and as the last post-hoc
 * resolution rule (after Spark and Delta turned statements into their final commands).
 *
 * Each run, for the plan being analysed:
 *  1. okera_sample.whoami is resolved to a LakegateWhoAmI leaf;
 *  2. every governed relation (Hive, data source, DataSource V2 incl. Delta, path-based),
 *     permanent view (its tables sent with underView = the outermost view), existing marker
 *     (a temporary view or cached plan built earlier, maybe by another user) and the root
 *     command's target are collected into ONE batch and authorized (through the cache);
 *  3. each decision is applied directly above its relation (LakegateSecured over
 *     Project(masks) over Filter(row filter)); full access leaves the relation untouched;
 *  4. a reference to a removed column fails as "not authorized".
 * Inside the body of a permanent view (analysed in a nested context) nothing is applied; at the
 * top level every relation under a view is sent with the view that immediately encloses it, and
 * the planner decides it with the view definer's rights only for a view it recorded from an
 * authorized CREATE VIEW, with the reader's own rights otherwise (docs/policy.md).
 *
 * Before any of that, the final plan is checked against the inventory (rule/inventory): a node
 * lakegate does not know, a refused one or a JVM call fails the statement (default deny).
 */
final class RuleAuthorize(session: SparkSession, postHoc: Boolean) extends Rule[LogicalPlan] with org.apache.spark.internal.Logging {

  override def apply(plan: LogicalPlan): LogicalPlan = {
    if (Guard.active || RuleAuthorize.HelperRoots.contains(plan.getClass.getSimpleName)) return plan
    val ctx = AnalysisContext.get
    AnalysisHelper.allowInvokingTransformsInAnalyzer {
      if (ctx.nestedViewDepth > 0) RuleAuthorize.unwrapGates(plan)
      else run(plan, topLevel = ctx.outerPlan.isEmpty)
    }
  }

  private def currentDb: String = Try(SessionAccess.catalog(session).getCurrentDatabase).getOrElse("default")

  private def isTemp(parts: Seq[String]): Boolean =
    parts.size == 1 && Try(SessionAccess.catalog(session).isTempView(parts)).getOrElse(false)

  private final class CommandContext(rt: LakegateRuntime, db: String) extends Commands.Context {
    def currentDb: String = db
    def isTemp(parts: Seq[String]): Boolean = RuleAuthorize.this.isTemp(parts)
    def exists(d: String, t: String): Boolean = SessionAccess.tableExists(session, d, t)
    def defaultLocation(d: String, t: String): Option[String] = Try(SessionAccess.catalog(session).defaultTablePath(
      org.apache.spark.sql.catalyst.TableIdentifier(t, Some(d))).toString).toOption
    def allowJvmCalls: Boolean = rt.settings.allowJvmCalls
    def resolveForSelect(o: AuthObject): Option[AuthObject] = RuleAuthorize.resolveForSelect(session, o, db)
    def viewReads(query: LogicalPlan): Seq[ViewRead] = RuleAuthorize.viewReads(query, db)
  }

  /** collect → decide → rewrite → verify, for one analysis of one statement. */
  private def run(plan0: LogicalPlan, topLevel: Boolean): LogicalPlan = {
    val plan = RuleAuthorize.resolveWhoAmI(plan0)
    RuleAuthorize.failOnRemovedNames(plan)
    val rt = LakegateRuntime.get(session)
    lazy val id = rt.identity()
    def refused(r: Commands.Refusal): Nothing = throw LakegateErrors.refused(id.user, r.what, r match {
      case p: PlanCheck.Refused => p.ask
      case _ => "Ask an administrator if you need it"
    })
    if (topLevel) OkeraFs.beforeQuery(session, rt, id, plan)
    val db = currentDb

    // 1. classify: the whole plan against the inventory (the final plan, once), the root's needs
    val finalPass = postHoc && topLevel
    val rootSpec =
      if (finalPass) try PlanCheck.check(plan, rt.settings.trustedPlanClasses, rt.settings.allowJvmCalls)
        catch { case r: Commands.Refusal => refused(r) }
      else Inventory.specOf(plan, rt.settings.trustedPlanClasses)
    val running = CommandScope.isRunning(plan)
    val needs0: Commands.Needs = rootSpec match {
      case Some(Spec.Cmd(kind)) if topLevel =>
        try Commands.needs(plan, kind, new CommandContext(rt, db)) catch { case r: Commands.Refusal => refused(r) }
      case Some(Spec.Operand) if finalPass =>
        // A table resolved alone (spark.catalog.listColumns, getTable): its metadata, every column named.
        Relations.operandObject(plan, db).flatMap(o => RuleAuthorize.resolveForSelect(session, o, db)) match {
          case Some(full) => Commands.Needs(Nil, metadata = Seq(full -> MetaLevel.AllColumns))
          case None => Commands.Nothing
        }
      case _ => Commands.Nothing
    }
    lazy val principal = rt.credentials.principalKey(id)
    val needs: Commands.Needs = if (needs0.objects.exists(o => o.action == Action.Insert || o.action == Action.All)) {
      needs0.copy(objects = needs0.objects.filterNot(o => CommandScope.exempt(principal, o)))
    } else needs0
    val collector = new RuleAuthorize.Collector(db, needs.targets)
    collector.walk(plan, "")
    collector.ungoverned.headOption.foreach { what =>
      refused(new PlanCheck.Refused(s"read $what: lakegate cannot tell which table or path it reads",
        "Ask an administrator to read it through a table lakegate governs"))
    }
    val showDescribe = finalPass
    val metaObjects = needs.metadata.map(_._1)
    if (collector.sites.isEmpty && needs.objects.isEmpty && metaObjects.isEmpty) {
      val p = RuleAuthorize.unwrapGates(plan)
      return if (showDescribe && RuleAuthorize.isShowOrDescribe(p)) ShowDescribe.wrap(p, session, rt, id, db) else p
    }

    // 2. decide: one request for every relation, view, command target and metadata object
    val objects = collector.sites.map(_._2) ++ needs.objects ++ metaObjects
    logDebug(s"lakegate: ${if (postHoc) "post-hoc" else "resolution"} pass over ${plan.getClass.getSimpleName} " +
      s"(top level: $topLevel) for ${id.user}: ${objects.map(o => o.effectiveAction + " " + o.displayName +
        (if (o.underView.nonEmpty) " under " + o.underView else "")).mkString(", ")}")
    // Tables read by subqueries are resolved later, in nested analyses; ask about them now, in
    // the same request, so that the query costs one request (the nested passes hit the cache).
    val prefetch =
      if (topLevel && !rt.authorizer.allCached(id, objects.toSeq)) RuleAuthorize.subqueryObjects(session, plan, db)
      else Nil
    val decisions0 = rt.authorizer.authorize(id, (objects ++ prefetch).toSeq, Gates.lastStatement)
    val decisions = decisions0.copy(decisions = decisions0.decisions.take(objects.size))
    val metaDecisions = decisions.decisions.drop(collector.sites.size + needs.objects.size)
    needs.metadata.zip(metaDecisions).foreach { case ((o, level), d) =>
      RuleAuthorize.checkMetadata(plan, o, level, d, decisions.user)
    }

    // 3. rewrite: each decision applied directly above its relation
    val byNode = new IdentityHashMap[LogicalPlan, ArrayBuffer[ObjectDecision]]()
    collector.sites.zipWithIndex.foreach { case ((node, _), i) =>
      var b = byNode.get(node)
      if (b == null) { b = ArrayBuffer.empty; byNode.put(node, b) }
      b += decisions.decisions(i)
    }
    val rewriter = new RuleAuthorize.Rewriter(session, decisions, byNode, needs.targets)
    val rewritten = rewriter.rewrite(plan)

    // 4. verify: nothing above a decision uses a column it removed
    val result = if (rewriter.removed.isEmpty) rewritten else {
      val removed = rewriter.removed.toMap
      val pruned = RuleAuthorize.pruneInTempViews(rewritten, removed)
      RuleAuthorize.failOnRemovedReferences(pruned._1, pruned._2, decisions.user)
      pruned._1
    }
    // A CREATE … AS SELECT runs inside its command scope (CommandScope), once authorized.
    if (finalPass && needs.scopeTargets.nonEmpty && !running) {
      return ScopedCommand(result)(CommandScope.Scope(result, decisions.principal, needs.scopeTargets.map(CommandScope.key).toSet))
    }
    if (showDescribe) ShowDescribe.wrap(result, session, rt, id, db) else result
  }
}

object RuleAuthorize {
  /**
   * Plans that are not queries but helpers other extensions analyse to resolve expressions
   * (Delta resolves MERGE clauses over a FakeLogicalPlan holding the MERGE's own children); the
   * query they belong to is authorized as a whole.
   */
  val HelperRoots: Set[String] = Set("FakeLogicalPlan")

  val KindRelation = "relation"
  val KindView = "view"
  val KindWhoAmI = "whoami"

  /** The table or view named by `o`, resolved alone (lakegate's rules off), as a SELECT object with its columns. */
  def resolveForSelect(session: SparkSession, o: AuthObject, currentDb: String): Option[AuthObject] =
    if (o.table.isEmpty) None
    else {
      val resolved = Try(Guard(SessionAccess.analyzer(session).execute(UnresolvedRelation(Seq(o.database, o.table))))).toOption
      def strip(p: LogicalPlan): LogicalPlan = p match { case s: SubqueryAlias => strip(s.child); case x => x }
      resolved.map(strip).flatMap {
        case v: View if !v.isTempView => Some(Relations.viewObject(v, "", currentDb))
        case r if Relations.isRelation(r) => Relations.objects(r, currentDb).headOption
        case _ => None
      }.map(_.copy(action = Action.Select))
    }

  /** What a view's definition reads directly: tables, views (not what is under them), paths. */
  def viewReads(query: LogicalPlan, currentDb: String): Seq[ViewRead] = {
    val out = ArrayBuffer.empty[ViewRead]
    def add(o: AuthObject): Unit = out += ViewRead(o.database, o.table, o.uri)
    def walk(p: LogicalPlan): Unit = p match {
      case g: LakegateGate => walk(g.child)
      case m: LakegateSecured => walk(rawOf(m))
      case v: View if !v.isTempView => add(Relations.viewObject(v, "", currentDb))
      case r if Relations.isRelation(r) && !r.isInstanceOf[LakegateWhoAmI] => Relations.objects(r, currentDb).foreach(add)
      case other =>
        other.children.foreach(walk)
        subqueryPlans(other).foreach(walk)
    }
    walk(query)
    out.distinct.toSeq
  }

  /** Metadata of a table may show only what its decision lets the user read. */
  def checkMetadata(plan: LogicalPlan, o: AuthObject, level: MetaLevel, d: ObjectDecision, user: String): Unit = {
    val removed = d.columns.exists(_.action == ColumnAction.Removed)
    val limited = !d.unrestricted
    val why = level match {
      case MetaLevel.Readable => None
      case MetaLevel.AllColumns if removed => Some("some of its columns are removed for you, and this names every column")
      case MetaLevel.Unrestricted if limited =>
        Some("your access to it is limited (a row filter, masked or removed columns), and this shows data beyond that")
      case _ => None
    }
    why.foreach { w =>
      val what = plan.nodeName.stripSuffix("Command")
      throw LakegateErrors.refused(user, s"run $what on ${o.displayName}: $w",
        s"Ask an administrator for unrestricted SELECT ON TABLE ${o.displayName}")
    }
  }

  def isShowOrDescribe(p: LogicalPlan): Boolean = {
    val c = p.getClass.getSimpleName
    c.startsWith("Show") || c.startsWith("Describe")
  }

  /** Apply f to the plan and to the plans of its subquery expressions, bottom up. */
  private def transformAll(p: LogicalPlan)(f: PartialFunction[LogicalPlan, LogicalPlan]): LogicalPlan =
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

  private def isWhoAmI(parts: Seq[String]): Boolean = {
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

  /**
   * The objects of the tables that the not yet analysed subqueries of plan read, found by
   * resolving each table name alone (lakegate's rules off). Best effort: a name that does not
   * resolve is left to the subquery's own analysis.
   */
  def subqueryObjects(session: SparkSession, plan: LogicalPlan, currentDb: String): Seq[AuthObject] = {
    val names = ArrayBuffer.empty[Seq[String]]
    def inSubquery(p: LogicalPlan): Unit = {
      p.foreach {
        case u: UnresolvedRelation if !isWhoAmI(u.multipartIdentifier) => names += u.multipartIdentifier
        case _ =>
      }
      p.foreach(n => subqueryPlans(n).foreach(inSubquery))
    }
    plan.foreach(n => subqueryPlans(n).foreach(inSubquery))
    if (names.isEmpty) return Nil
    val analyzer = SessionAccess.analyzer(session)
    names.distinct.flatMap { parts =>
      Try(Guard(analyzer.execute(UnresolvedRelation(parts)))).toOption.toSeq.flatMap { resolved =>
        val c = new Collector(currentDb, Nil)
        c.walk(resolved, "")
        c.sites.map(_._2)
      }
    }.distinct.toSeq
  }

  /** The relation or view beneath a marker, as it was before the decision. */
  def rawOf(m: LakegateSecured): LogicalPlan =
    if (m.info.kind == KindWhoAmI) LakegateWhoAmI(m.output) else m.raw

  private def subqueryPlans(p: LogicalPlan): Seq[LogicalPlan] =
    p.expressions.flatMap(_.collect { case s: SubqueryExpression => s.plan })

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
          case Some(d) if !d.unrestricted => secure(nv, d, v.output, KindView)
          case _ => (nv, mapping)
        }
      case r if Relations.isRelation(r) =>
        decisionOf(r) match {
          case Some(d) if !d.unrestricted || r.isInstanceOf[LakegateWhoAmI] =>
            secure(r, d, r.output, if (d.whoami) KindWhoAmI else KindRelation)
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
        if (mapping.nonEmpty) c = RuleAuthorize.replaceAttributes(c, mapping)
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
    private def secure(raw: LogicalPlan, d: ObjectDecision, old: Seq[Attribute], kind: String): (LogicalPlan, Mapping) = {
      val oldByName = old.map(a => Relations.lower(a.name) -> a).toMap
      val info = (project: Boolean, filter: Boolean, removedNames: Seq[String], k: String) =>
        SecureInfo(decisions.principal, decisions.user, d.objectName, decisions.policyVersion, effectOf(d),
          removedNames, k, project, filter)
      if (d.whoami) {
        val a = oldByName.get("user").orElse(raw.output.find(_.name.equalsIgnoreCase("user")))
          .map(x => AttributeReference("user", StringType, nullable = false)(exprId = x.exprId))
          .getOrElse(AttributeReference("user", StringType, nullable = false)())
        val lr = LocalRelation(Seq(a), Seq(InternalRow(UTF8String.fromString(decisions.user))))
        return (LakegateSecured(lr)(info(false, false, Nil, KindWhoAmI)), Nil)
      }
      val out = raw.output
      val cols = if (d.columns.isEmpty) out.map(a => io.lakegate.spark.client.ColumnDecision(a.name, ColumnAction.Visible)) else d.columns
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

/** Optimizer: the markers have done their work; leave Spark the plain Project and Filter. */
object RuleEliminateMarkers extends Rule[LogicalPlan] {
  override def apply(plan: LogicalPlan): LogicalPlan =
    plan.transformUpWithSubqueries {
      case m: LakegateSecured => m.child
      case g: LakegateGate => g.child
    }
}
