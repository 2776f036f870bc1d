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
}
