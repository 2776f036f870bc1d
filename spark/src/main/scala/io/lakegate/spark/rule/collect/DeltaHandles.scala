package io.lakegate.spark.rule.collect

import java.util.function.{Function => JFunction}
import java.util.stream.{Stream => JStream}

import io.lakegate.spark.client.AuthObject
import io.lakegate.spark.rule.command.Commands.MetadataNeed
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

  /** The metadata the tables read here show when this analysis opens a handle (else nothing). */
  def metadataNeeds(reads: Seq[AuthObject]): Seq[MetadataNeed] = {
    val tables = reads.filter(o => o.table.nonEmpty && o.uri.isEmpty)
    if (tables.isEmpty || !opening()) Nil
    else tables.distinct.map(o => MetadataNeed(o.copy(underView = ""), MetaLevel.Unrestricted, What))
  }
}
