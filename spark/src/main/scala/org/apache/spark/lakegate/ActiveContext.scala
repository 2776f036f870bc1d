package org.apache.spark.lakegate

import org.apache.spark.{SparkConf, SparkContext}

/** The active SparkContext's configuration, without creating a context (SparkContext.getActive is private[spark]). */
object ActiveContext {
  def conf: Option[SparkConf] = SparkContext.getActive.map(_.getConf)
}
