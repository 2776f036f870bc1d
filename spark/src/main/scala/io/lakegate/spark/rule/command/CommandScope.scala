package io.lakegate.spark.rule.command

import org.apache.spark.sql.{Row, SparkSession}
import org.apache.spark.sql.catalyst.expressions.Attribute
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan
import org.apache.spark.sql.execution.command.LeafRunnableCommand
import org.apache.spark.sql.lakegate.SessionAccess

import io.lakegate.spark.client.{Action, AuthObject}

/**
 * CREATE TABLE … AS SELECT writes its rows through an inner command (an INSERT or an append into
 * the new table) that Spark analyses again on the same thread while the CTAS runs. The CREATE
 * privilege already covers that write, so it is not asked about again — but only:
 *  - while that very command runs: the authorization rule replaces the authorized CTAS by a
 *    ScopedCommand holding it, whose run() opens the scope and closes it in `finally`;
 *  - on the thread running it, for the principal it was authorized for;
 *  - for the write into the new table itself (its name or its location); reads are authorized as
 *    always, and nothing else is exempt.
 * No local property, configuration or thread name takes part: nothing a user can set opens a scope.
 */
object CommandScope {
  final case class Scope(command: LogicalPlan, principal: String, targets: Set[String])

  private val current = new ThreadLocal[List[Scope]] { override def initialValue(): List[Scope] = Nil }

  def within[T](scope: Scope)(f: => T): T = {
    current.set(scope :: current.get)
    try f finally current.set(current.get.drop(1))
  }

  /** Is this plan the command a scope on this thread runs (analysed again inside its own run)? */
  def isRunning(plan: LogicalPlan): Boolean = current.get.exists(_.command eq plan)

  def key(o: AuthObject): String = if (o.uri.nonEmpty) "uri:" + o.uri else s"table:${o.database}.${o.table}"

  /**
   * Is `o` the write of a CTAS into its own new table, on the thread running it, for this principal?
   * (Spark writes a new table's first rows in overwrite mode, so that write asks INSERT or ALL.)
   */
  def exempt(principal: String, o: AuthObject): Boolean =
    Action.writes(o.action) &&
      current.get.exists(s => s.principal == principal && s.targets.contains(key(o)))
}

/**
 * An authorized CREATE TABLE … AS SELECT, run inside its command scope. Spark plans it as any V1
 * command; run() hands the CTAS back to Spark (analysis, planning, execution) within the scope.
 */
case class ScopedCommand(command: LogicalPlan)(val scope: CommandScope.Scope) extends LeafRunnableCommand {
  override def output: Seq[Attribute] = command.output
  override def innerChildren: Seq[LogicalPlan] = Seq(command)
  override protected def otherCopyArgs: Seq[AnyRef] = scope :: Nil
  override def simpleString(maxFields: Int): String = s"ScopedCommand ${command.simpleString(maxFields)}"
  override def run(session: SparkSession): Seq[Row] = {
    CommandScope.within(scope)(SessionAccess.executeCommand(session, command))
    Nil
  }
}
