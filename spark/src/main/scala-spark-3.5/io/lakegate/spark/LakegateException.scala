package io.lakegate.spark

import org.apache.spark.sql.AnalysisException

/** An analysis error raised by lakegate (PySpark shows it as an AnalysisException). */
class LakegateException(message: String, cause: Throwable)
  extends AnalysisException(message, None, None, Option(cause), None, Map.empty[String, String],
    Array.empty[org.apache.spark.QueryContext]) {
  override def getMessage: String = message
}
