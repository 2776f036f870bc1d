package io.lakegate.spark.ensemble

/** OKERA_ENABLE_OKERA_FS on Spark 3.5: hadoop-aws 3.3.x with the AWS SDK for Java v1. */
object S3aSupport {
  val hadoopAwsVersion = "3.3.4"
  def require(): Unit = ()
}
