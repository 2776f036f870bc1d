package io.lakegate.spark.ensemble

import java.net.URI

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.s3a.audit.AuditFailureException
import org.apache.hadoop.fs.s3a.audit.impl.AbstractAuditSpanImpl
import software.amazon.awssdk.auth.credentials.{AwsBasicCredentials, AwsCredentials, AwsCredentialsProvider, StaticCredentialsProvider}
import software.amazon.awssdk.awscore.{AwsRequest, AwsRequestOverrideConfiguration}
import software.amazon.awssdk.core.SdkRequest
import software.amazon.awssdk.core.exception.SdkClientException

// The AWS SDK for Java v2 side of OKERA_ENABLE_OKERA_FS (hadoop-aws 3.4.x): the span that sets the
// user's key on each request, and the file system's own credentials provider, which has none.

private[ensemble] final class EnsembleSpan(id: String, operation: String, key: Either[String, AccessKey], valid: Boolean)
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
    throw SdkClientException.create(OkeraFs.misroutedMessage(why))
  }

  override def resolveCredentials(): AwsCredentials =
    throw SdkClientException.create("lakegate: this S3 request has no user's access key (OKERA_ENABLE_OKERA_FS): " +
      "s3a may only reach storage through the ensemble with the key of the user it works for")
}
