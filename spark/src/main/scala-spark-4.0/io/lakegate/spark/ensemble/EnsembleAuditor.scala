package io.lakegate.spark.ensemble

import java.net.URI

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.s3a.audit.{AuditFailureException, AuditSpanS3A, OperationAuditorOptions}
import org.apache.hadoop.fs.s3a.audit.impl.{AbstractAuditSpanImpl, AbstractOperationAuditor}
import software.amazon.awssdk.auth.credentials.{AwsBasicCredentials, AwsCredentials, AwsCredentialsProvider, StaticCredentialsProvider}
import software.amazon.awssdk.awscore.{AwsRequest, AwsRequestOverrideConfiguration}
import software.amazon.awssdk.core.SdkRequest
import software.amazon.awssdk.core.exception.SdkClientException

/**
 * s3a's auditor under OKERA_ENABLE_OKERA_FS (hadoop-aws 3.4.x, AWS SDK for Java v2): each span
 * (one file system call) takes the key of the user it runs for when it is opened, on the
 * caller's thread, and sets it as the credentials of every request created in it, which keeps
 * uploads and copies that s3a runs on its own thread pools with their user.
 */
class EnsembleAuditor extends AbstractOperationAuditor("lakegate-ensemble") {
  // A file system made from a configuration that does not route through the ensemble (a user's
  // reader option, per-bucket setting, ...) fails to start rather than be cached for everyone.
  override def init(options: OperationAuditorOptions): Unit = {
    OkeraFs.misrouted(options.getConfiguration).foreach { why =>
      throw new AuditFailureException(s"lakegate: this s3a file system does not go through the ensemble ($why); " +
        "S3 settings may not be changed under OKERA_ENABLE_OKERA_FS")
    }
    super.init(options)
  }

  private lazy val unbonded: AuditSpanS3A = new EnsembleSpan(createSpanID(), "outside any operation",
    Left("an S3 request outside of any file system operation"), valid = false)

  override def createSpan(operation: String, path1: String, path2: String): AuditSpanS3A =
    new EnsembleSpan(createSpanID(), operation, OkeraFs.keyForCurrentThread(), valid = true)

  override def getUnbondedSpan: AuditSpanS3A = unbonded
}

private final class EnsembleSpan(id: String, operation: String, key: Either[String, AccessKey], valid: Boolean)
  extends AbstractAuditSpanImpl(id, operation) {

  private lazy val provider: AwsCredentialsProvider = key match {
    case Right(k) => StaticCredentialsProvider.create(AwsBasicCredentials.create(k.accessKeyId, k.secretAccessKey))
    case Left(_) => null
  }

  override def deactivate(): Unit = ()
  override def isValidSpan: Boolean = valid

  // Every request s3a makes is built by its request factory, which hands the builder to the
  // active span: the key goes into the request's own configuration, and the SDK signs with it
  // wherever the request runs. A request without it meets UnboundCredentialsProvider.
  override def requestCreated(builder: SdkRequest.Builder): Unit = builder match {
    case b: AwsRequest.Builder =>
      key match {
        case Right(_) =>
          val cfg = Option(b.overrideConfiguration()).map(_.toBuilder).getOrElse(AwsRequestOverrideConfiguration.builder())
          b.overrideConfiguration(cfg.credentialsProvider(provider).build())
        case Left(why) =>
          throw new AuditFailureException(s"lakegate: S3 request refused ($operation): $why")
      }
    case _ =>
  }
}

/**
 * s3a's credentials provider under OKERA_ENABLE_OKERA_FS: none. A request is signed only with
 * the key its span set; anything else must fail rather than go out with the cluster's own
 * credentials.
 */
class UnboundCredentialsProvider(uri: URI, conf: Configuration) extends AwsCredentialsProvider {
  def this() = this(null, null)

  if (conf != null) OkeraFs.misrouted(conf).foreach { why =>
    throw SdkClientException.create(s"lakegate: the s3a file system of $uri does not go through the ensemble ($why); " +
      "S3 settings may not be changed under OKERA_ENABLE_OKERA_FS")
  }

  override def resolveCredentials(): AwsCredentials =
    throw SdkClientException.create("lakegate: this S3 request has no user's access key (OKERA_ENABLE_OKERA_FS): " +
      "s3a may only reach storage through the ensemble with the key of the user it works for")
}
