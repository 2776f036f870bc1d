package io.lakegate.spark

import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.catalyst.parser.ParserInterface

/** Spark 3.5: its ParserInterface has nothing beyond GatingParser. */
class LakegateParser(protected val session: SparkSession, protected val delegate: ParserInterface)
  extends GatingParser
