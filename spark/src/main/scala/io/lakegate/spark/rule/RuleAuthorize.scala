package io.lakegate.spark.rule

import java.util.IdentityHashMap

import scala.collection.mutable.ArrayBuffer
import scala.util.Try

import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.catalyst.TableIdentifier
import org.apache.spark.sql.catalyst.analysis.AnalysisContext
import org.apache.spark.sql.catalyst.plans.logical.{AnalysisHelper, LogicalPlan}
import org.apache.spark.sql.catalyst.rules.Rule
import org.apache.spark.sql.lakegate.SessionAccess

import io.lakegate.spark.{Decisions, Guard, LakegateErrors, LakegateRuntime}
import io.lakegate.spark.auth.Identity
import io.lakegate.spark.client.{Action, AuthObject, ObjectDecision, ViewRead}
import io.lakegate.spark.ensemble.OkeraFs
import io.lakegate.spark.rule.collect.{Collector, DeltaHandles, Gates, Lookup, Relations}
import io.lakegate.spark.rule.command.{CommandScope, Commands, MetadataCheck, ScopedCommand, ShowDescribe}
import io.lakegate.spark.rule.inventory.{Inventory, MetaLevel, PlanCheck, Spec}
import io.lakegate.spark.rule.rewrite.{RemovedColumns, Rewriter}

/**
 * The authorization rule, injected twice: at the end of the analyzer's resolution batch (so a
 * decision is applied before anything above the relation is resolved) and as the last post-hoc
 * resolution rule (after Spark and Delta turned statements into their final commands).
 *
 * Each run, for the plan being analysed: classify → collect → decide → rewrite → verify.
 *  - classify: on the final pass the whole plan is checked against the inventory
 *    (rule/inventory/PlanCheck: an unknown node, a refused one or a JVM call fails the statement),
 *    and the root command's needs are computed (rule/command/Commands);
 *  - collect: every governed relation, permanent view and existing marker (rule/collect/Collector);
 *  - decide: ONE request for all of them, the command's objects and the metadata it shows;
 *  - rewrite: each decision applied directly above its relation (rule/rewrite/Rewriter);
 *  - verify: nothing above a decision uses a column it removed (rule/rewrite/RemovedColumns).
 * Inside the body of a permanent view (analysed in a nested context) nothing is applied; at the
 * top level every relation under a view is sent with the view that immediately encloses it, and
 * the planner decides it with the view definer's rights only for a view it recorded from an
 * authorized CREATE VIEW, with the reader's own rights otherwise (docs/policy.md).
 */
final class RuleAuthorize(session: SparkSession, postHoc: Boolean) extends Rule[LogicalPlan] with org.apache.spark.internal.Logging {

  override def apply(plan: LogicalPlan): LogicalPlan = {
    if (Guard.active || RuleAuthorize.HelperRoots.contains(plan.getClass.getSimpleName)) return plan
    val ctx = AnalysisContext.get
    AnalysisHelper.allowInvokingTransformsInAnalyzer {
      if (ctx.nestedViewDepth > 0) Plans.unwrapGates(plan)
      else run(plan, topLevel = ctx.outerPlan.isEmpty)
    }
  }

  private def currentDb: String = Try(SessionAccess.catalog(session).getCurrentDatabase).getOrElse("default")

  private final class CommandContext(rt: LakegateRuntime, db: String) extends Commands.Context {
    def currentDb: String = db
    def isTemp(parts: Seq[String]): Boolean =
      parts.size == 1 && Try(SessionAccess.catalog(session).isTempView(parts)).getOrElse(false)
    def exists(d: String, t: String): Boolean = SessionAccess.tableExists(session, d, t)
    def defaultLocation(d: String, t: String): Option[String] =
      Try(SessionAccess.catalog(session).defaultTablePath(TableIdentifier(t, Some(d))).toString).toOption
    def allowJvmCalls: Boolean = rt.settings.allowJvmCalls
    def resolveForSelect(o: AuthObject): Option[AuthObject] = Lookup.resolveForSelect(session, o, db)
    def viewReads(query: LogicalPlan): Seq[ViewRead] = Lookup.viewReads(query, db)
  }

  /** One analysis of one statement. */
  private def run(plan0: LogicalPlan, topLevel: Boolean): LogicalPlan = {
    val plan = Plans.resolveWhoAmI(plan0)
    RemovedColumns.failOnRemovedNames(plan)
    val rt = LakegateRuntime.get(session)
    lazy val id = rt.identity()
    def refused(r: Commands.Refusal): Nothing = throw LakegateErrors.refused(id.user, r.what, r match {
      case p: PlanCheck.Refused => p.ask
      case _ => "Ask an administrator if you need it"
    })
    if (topLevel) OkeraFs.beforeQuery(session, rt, id, plan)
    val db = currentDb
    val finalPass = postHoc && topLevel

    // classify
    val needs = try classify(plan, rt, db, topLevel, finalPass) catch { case r: Commands.Refusal => refused(r) }

    // collect
    val collector = new Collector(db, needs.targets)
    collector.walk(plan, "")
    collector.ungoverned.headOption.foreach { what =>
      refused(new PlanCheck.Refused(s"read $what: lakegate cannot tell which table or path it reads",
        "Ask an administrator to read it through a table lakegate governs"))
    }
    val sites: Seq[AuthObject] = collector.sites.map(_._2).toSeq
    val metadata = needs.metadata
    if (collector.sites.isEmpty && needs.objects.isEmpty && metadata.isEmpty) {
      val p = Plans.unwrapGates(plan)
      return if (finalPass && Plans.isShowOrDescribe(p)) ShowDescribe.wrap(p, session, rt, id, db) else p
    }

    // decide
    val decisions = decide(rt, id, plan, db, topLevel, sites ++ needs.objects ++ metadata.map(_.obj))
    metadata.zip(decisions.decisions.drop(sites.size + needs.objects.size)).foreach { case (m, d) =>
      MetadataCheck(m, d, decisions.user)
    }
    if (topLevel) DeltaHandles.check(collector.sites.toSeq, decisions.decisions, decisions.user)

    // rewrite
    val byNode = new IdentityHashMap[LogicalPlan, ArrayBuffer[ObjectDecision]]()
    collector.sites.zipWithIndex.foreach { case ((node, _), i) =>
      var b = byNode.get(node)
      if (b == null) { b = ArrayBuffer.empty; byNode.put(node, b) }
      b += decisions.decisions(i)
    }
    val rewriter = new Rewriter(session, decisions, byNode, needs.targets)
    val rewritten = rewriter.rewrite(plan)

    // verify
    val result = if (rewriter.removed.isEmpty) rewritten else {
      val (pruned, removed) = Rewriter.pruneInTempViews(rewritten, rewriter.removed.toMap)
      RemovedColumns.failOnRemovedReferences(pruned, removed, decisions.user)
      pruned
    }
    // A CREATE … AS SELECT runs inside its command scope (CommandScope), once authorized.
    if (finalPass && needs.scopeTargets.nonEmpty && !CommandScope.isRunning(plan)) {
      ScopedCommand(result)(CommandScope.Scope(result, decisions.principal, needs.scopeTargets.map(CommandScope.key).toSet))
    } else if (finalPass) ShowDescribe.wrap(result, session, rt, id, db)
    else result
  }

  /**
   * The inventory's verdict on the plan (the whole final plan, once) and what its root needs:
   * a command's objects and targets, or the metadata of a table resolved alone
   * (spark.catalog.listColumns, getTable). Writes that a running CREATE … AS SELECT's own scope
   * covers are not asked again.
   */
  private def classify(plan: LogicalPlan, rt: LakegateRuntime, db: String, topLevel: Boolean, finalPass: Boolean): Commands.Needs = {
    val spec =
      if (finalPass) PlanCheck.check(plan, rt.settings.trustedPlanClasses, rt.settings.allowJvmCalls)
      else Inventory.specOf(plan, rt.settings.trustedPlanClasses)
    val needs = spec match {
      case Some(Spec.Cmd(kind)) if topLevel => Commands.needs(plan, kind, new CommandContext(rt, db))
      case Some(Spec.Operand) if finalPass =>
        Relations.operandObject(plan, db).flatMap(o => Lookup.resolveForSelect(session, o, db)) match {
          case Some(full) => Commands.Needs(Nil, metadata = Seq(Commands.MetadataNeed(full, MetaLevel.AllColumns, plan.nodeName)))
          case None => Commands.Nothing
        }
      case _ => Commands.Nothing
    }
    if (!needs.objects.exists(o => Action.writes(o.action))) needs
    else {
      val principal = rt.credentials.principalKey(rt.identity())
      needs.copy(objects = needs.objects.filterNot(o => CommandScope.exempt(principal, o)))
    }
  }

  /**
   * One request for every object. Tables read by subqueries are resolved later, in nested
   * analyses; they are asked about now, in the same request, so that the query costs one
   * request (the nested passes hit the cache).
   */
  private def decide(rt: LakegateRuntime, id: Identity, plan: LogicalPlan, db: String, topLevel: Boolean,
      objects: Seq[AuthObject]): Decisions = {
    logDebug(s"lakegate: ${if (postHoc) "post-hoc" else "resolution"} pass over ${plan.getClass.getSimpleName} " +
      s"(top level: $topLevel) for ${id.user}: ${objects.map(o => o.action.privilege + " " + o.displayName +
        (if (o.underView.nonEmpty) " under " + o.underView else "")).mkString(", ")}")
    val prefetch =
      if (topLevel && !rt.authorizer.allCached(id, objects)) Lookup.subqueryObjects(session, plan, db)
      else Nil
    val d = rt.authorizer.authorize(id, objects ++ prefetch, Gates.lastStatement)
    d.copy(decisions = d.decisions.take(objects.size))
  }
}

object RuleAuthorize {
  /**
   * Plans that are not queries but helpers other extensions analyse to resolve expressions
   * (Delta resolves MERGE clauses over a FakeLogicalPlan holding the MERGE's own children); the
   * query they belong to is authorized as a whole.
   */
  val HelperRoots: Set[String] = Set("FakeLogicalPlan")
}
