package io.lakegate.spark

/** What differs between Spark 3.5 and 4.x (this is the 4.x side) at compile time, kept to the minimum. */
object SparkShim {
  val sparkLine: String = "4.0"
}
