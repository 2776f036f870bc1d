package io.lakegate.spark

import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.catalyst.parser.ParserInterface
import org.apache.spark.sql.types.StructType

/** Spark 4.0: its ParserInterface adds parseRoutineParam (SQL functions' parameters). */
class LakegateParser(protected val session: SparkSession, protected val delegate: ParserInterface)
  extends GatingParser {
  override def parseRoutineParam(sqlText: String): StructType = delegate.parseRoutineParam(sqlText)
}
