package io.lakegate.spark.ensemble

import java.net.URI

import com.amazonaws.{AmazonWebServiceRequest, SdkClientException}
import com.amazonaws.auth.{AWSCredentials, AWSCredentialsProvider, AWSStaticCredentialsProvider, BasicAWSCredentials}
import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.s3a.audit.{AuditFailureException, AuditSpanS3A, OperationAuditorOptions}
import org.apache.hadoop.fs.s3a.audit.impl.{AbstractAuditSpanImpl, AbstractOperationAuditor}

/**
 * s3a's auditor under OKERA_ENABLE_OKERA_FS (hadoop-aws 3.3.x, AWS SDK for Java v1): each span
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

  private lazy val provider: AWSCredentialsProvider = key match {
    case Right(k) => new AWSStaticCredentialsProvider(new BasicAWSCredentials(k.accessKeyId, k.secretAccessKey))
    case Left(_) => null
  }

  override def deactivate(): Unit = ()
  override def isValidSpan: Boolean = valid

  override def requestCreated[T <: AmazonWebServiceRequest](request: T): T = withKey(request)

  // A request created before any span was active gets the key of the span it runs in; one
  // without a key at all is refused here, before it is signed.
  override def beforeExecution[T <: AmazonWebServiceRequest](request: T): T = withKey(request)

  private def withKey[T <: AmazonWebServiceRequest](request: T): T = {
    if (request.getRequestCredentialsProvider == null) key match {
      case Right(_) => request.setRequestCredentialsProvider(provider)
      case Left(why) =>
        throw new AuditFailureException(s"lakegate: S3 request refused ($operation): $why")
    }
    request
  }
}

/**
 * s3a's credentials provider under OKERA_ENABLE_OKERA_FS: none. A request is signed only with
 * the key its span set; anything else must fail rather than go out with the cluster's own
 * credentials.
 */
class UnboundCredentialsProvider(uri: URI, conf: Configuration) extends AWSCredentialsProvider {
  def this() = this(null, null)

  if (conf != null) OkeraFs.misrouted(conf).foreach { why =>
    throw new SdkClientException(s"lakegate: the s3a file system of $uri does not go through the ensemble ($why); " +
      "S3 settings may not be changed under OKERA_ENABLE_OKERA_FS")
  }

  override def getCredentials: AWSCredentials =
    throw new SdkClientException("lakegate: this S3 request has no user's access key (OKERA_ENABLE_OKERA_FS): " +
      "s3a may only reach storage through the ensemble with the key of the user it works for")

  override def refresh(): Unit = ()
}
