package io.lakegate.spark.ensemble

/** OKERA_ENABLE_OKERA_FS on Spark 4.0: hadoop-aws 3.4.x with the AWS SDK for Java v2. */
object S3aSupport {
  val hadoopAwsVersion = "3.4.1"
  def require(): Unit = ()
}
