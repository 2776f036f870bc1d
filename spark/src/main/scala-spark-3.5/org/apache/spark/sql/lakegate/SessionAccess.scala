package org.apache.spark.sql.lakegate

import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.catalyst.analysis.Analyzer
import org.apache.spark.sql.catalyst.catalog.SessionCatalog
import org.apache.spark.sql.catalyst.parser.ParserInterface

/** The parts of a session's (private[sql]) SessionState that lakegate uses. */
object SessionAccess {
  def analyzer(s: SparkSession): Analyzer = s.sessionState.analyzer
  def parser(s: SparkSession): ParserInterface = s.sessionState.sqlParser
  def catalog(s: SparkSession): SessionCatalog = s.sessionState.catalog
  /** The Hadoop configuration the session's catalog works with (a copy made when it started). */
  def sharedHadoopConf(s: SparkSession): org.apache.hadoop.conf.Configuration = s.sharedState.hadoopConf
}
