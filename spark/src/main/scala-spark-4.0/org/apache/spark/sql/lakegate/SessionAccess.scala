package org.apache.spark.sql.lakegate

import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.catalyst.analysis.Analyzer
import org.apache.spark.sql.catalyst.catalog.SessionCatalog
import org.apache.spark.sql.catalyst.parser.ParserInterface

/** The parts of a session's (private[sql]) SessionState that lakegate uses. */
object SessionAccess {
  private def state(s: SparkSession) = s.asInstanceOf[org.apache.spark.sql.classic.SparkSession].sessionState
  def analyzer(s: SparkSession): Analyzer = state(s).analyzer
  def parser(s: SparkSession): ParserInterface = state(s).sqlParser
  def catalog(s: SparkSession): SessionCatalog = state(s).catalog
  /** The Hadoop configuration the session's catalog works with (a copy made when it started). */
  def sharedHadoopConf(s: SparkSession): org.apache.hadoop.conf.Configuration =
    s.asInstanceOf[org.apache.spark.sql.classic.SparkSession].sharedState.hadoopConf
  /** Analyse, plan and run a command now (what Spark does with a command it is handed). */
  def executeCommand(s: SparkSession, plan: org.apache.spark.sql.catalyst.plans.logical.LogicalPlan): Unit =
    state(s).executePlan(plan).assertCommandExecuted()
  /** Does the session catalog hold this table or view (temporary views excluded)? */
  def tableExists(s: SparkSession, db: String, table: String): Boolean =
    scala.util.Try(catalog(s).tableExists(org.apache.spark.sql.catalyst.TableIdentifier(table, Some(db)))).getOrElse(false)
}
