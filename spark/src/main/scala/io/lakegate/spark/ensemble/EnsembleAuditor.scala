package io.lakegate.spark.ensemble

import org.apache.hadoop.fs.s3a.audit.{AuditFailureException, AuditSpanS3A, OperationAuditorOptions}
import org.apache.hadoop.fs.s3a.audit.impl.AbstractOperationAuditor

/**
 * s3a's auditor under OKERA_ENABLE_OKERA_FS (hadoop-aws 3.3.2 and later): each span (one file
 * system call) takes the key of the user it runs for when it is opened, on the caller's thread,
 * and sets it as the credentials of every request created in it (EnsembleSpan, one per AWS SDK
 * in the Spark line's sources), which keeps uploads and copies that s3a runs on its own thread
 * pools with their user.
 */
class EnsembleAuditor extends AbstractOperationAuditor("lakegate-ensemble") {
  // A file system made from a configuration that does not route through the ensemble (a user's
  // reader option, per-bucket setting, ...) fails to start rather than be cached for everyone.
  override def init(options: OperationAuditorOptions): Unit = {
    OkeraFs.misrouted(options.getConfiguration).foreach(why => throw new AuditFailureException(OkeraFs.misroutedMessage(why)))
    super.init(options)
  }

  private lazy val unbonded: AuditSpanS3A = new EnsembleSpan(createSpanID(), "outside any operation",
    Left("an S3 request outside of any file system operation"), valid = false)

  override def createSpan(operation: String, path1: String, path2: String): AuditSpanS3A =
    new EnsembleSpan(createSpanID(), operation, OkeraFs.keyForCurrentThread(), valid = true)

  override def getUnbondedSpan: AuditSpanS3A = unbonded
}
