package io.lakegate.spark.rule.collect

import java.util.function.{Function => JFunction}
import java.util.stream.{Stream => JStream}

import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan
import org.apache.spark.sql.execution.datasources.{HadoopFsRelation, LogicalRelation}
import org.apache.spark.sql.execution.datasources.v2.DataSourceV2Relation

import io.lakegate.spark.client.{AuthObject, ObjectDecision}
import io.lakegate.spark.plan.LakegateSecured
import io.lakegate.spark.rule.Plans
import io.lakegate.spark.rule.command.Commands.MetadataNeed
import io.lakegate.spark.rule.command.MetadataCheck
import io.lakegate.spark.rule.inventory.MetaLevel

/**
 * Delta's table handle (`io.delta.tables.DeltaTable.forName` / `forPath`, what
 * `delta.tables.DeltaTable` calls from Python) resolves its table once through Spark SQL, which
 * lakegate governs, and then reads the table's transaction log directly: `history()` is a local
 * relation built from the log, with every operation's predicates, metrics and user — data the
 * reader's row filter or masks may hide. So opening a handle shows the table's history: it needs
 * unrestricted SELECT, like DESCRIBE HISTORY. A restricted user reads the table with
 * `spark.table`.
 *
 * A handle is recognised by the Delta API's own frames on the analysing thread's stack, which
 * notebook code cannot put there without calling that API.
 */
object DeltaHandles {
  private val HandleClass = "io.delta.tables.DeltaTable"
  private val Openers = Set("forName", "forPath")
  val What = "DeltaTable.forName/forPath (a Delta table handle shows the table's history)"

  private val openerOnStack: JFunction[JStream[StackWalker.StackFrame], java.lang.Boolean] =
    new JFunction[JStream[StackWalker.StackFrame], java.lang.Boolean] {
      def apply(frames: JStream[StackWalker.StackFrame]): java.lang.Boolean =
        frames.anyMatch(f => Openers.contains(f.getMethodName) &&
          (f.getClassName == HandleClass || f.getClassName == HandleClass + "$"))
    }

  /** Is this analysis part of opening a Delta table handle? */
  def opening(): Boolean = StackWalker.getInstance().walk[java.lang.Boolean](openerOnStack).booleanValue()

  /** Is node (a relation, or a marker over one) a Delta table? */
  def isDelta(node: LogicalPlan): Boolean = node match {
    case m: LakegateSecured => isDelta(Plans.rawOf(m))
    case r: DataSourceV2Relation => Relations.isDeltaTable(r.table)
    case l: LogicalRelation => l.relation match {
      case h: HadoopFsRelation => h.location.getClass.getName.startsWith("org.apache.spark.sql.delta.")
      case _ => false
    }
    case _ => false
  }

  /**
   * Refuses the analysis when it opens a Delta table handle on a table whose decision is not
   * unrestricted. The stack is looked at only for such a table (restricted, Delta), so other
   * queries pay nothing.
   */
  def check(sites: Seq[(LogicalPlan, AuthObject)], decisions: Seq[ObjectDecision], user: String): Unit = {
    val restricted = sites.zip(decisions).collect {
      case ((node, o), d) if !d.unrestricted && o.table.nonEmpty && o.uri.isEmpty && isDelta(node) => (o, d)
    }
    if (restricted.nonEmpty && opening()) {
      val (o, d) = restricted.head
      MetadataCheck(MetadataNeed(o.copy(underView = ""), MetaLevel.Unrestricted, What), d, user)
    }
  }
}
