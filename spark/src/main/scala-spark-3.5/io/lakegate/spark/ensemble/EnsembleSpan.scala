package io.lakegate.spark.ensemble

import java.net.URI

import com.amazonaws.{AmazonWebServiceRequest, SdkClientException}
import com.amazonaws.auth.{AWSCredentials, AWSCredentialsProvider, AWSStaticCredentialsProvider, BasicAWSCredentials}
import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.s3a.audit.AuditFailureException
import org.apache.hadoop.fs.s3a.audit.impl.AbstractAuditSpanImpl

// The AWS SDK for Java v1 side of OKERA_ENABLE_OKERA_FS (hadoop-aws 3.3.x): the span that sets the
// user's key on each request, and the file system's own credentials provider, which has none.

private[ensemble] final class EnsembleSpan(id: String, operation: String, key: Either[String, AccessKey], valid: Boolean)
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
    throw new SdkClientException(OkeraFs.misroutedMessage(why))
  }

  override def getCredentials: AWSCredentials =
    throw new SdkClientException("lakegate: this S3 request has no user's access key (OKERA_ENABLE_OKERA_FS): " +
      "s3a may only reach storage through the ensemble with the key of the user it works for")

  override def refresh(): Unit = ()
}
