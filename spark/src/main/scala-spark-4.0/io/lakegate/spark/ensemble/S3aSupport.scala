package io.lakegate.spark.ensemble

import io.lakegate.spark.LakegateErrors

/**
 * OKERA_ENABLE_OKERA_FS on Spark 4.0 (hadoop-aws 3.4, AWS SDK for Java v2) is not there yet:
 * the session fails rather than run with files that are not governed.
 */
object S3aSupport {
  val hadoopAwsVersion = "3.4.1"
  def require(): Unit = throw LakegateErrors.failure("OKERA_ENABLE_OKERA_FS (file access through the ensemble) " +
    "is supported with Spark 3.5 in this lakegate version, not with Spark 4.0; turn it off or use a Spark 3.5 cluster")
}
