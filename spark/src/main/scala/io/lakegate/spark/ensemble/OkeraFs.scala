package io.lakegate.spark.ensemble

import java.util.Locale
import java.util.concurrent.ConcurrentHashMap

import scala.collection.JavaConverters._
import scala.util.Try

import org.apache.spark.{SparkEnv, TaskContext}
import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan
import org.apache.spark.sql.execution.datasources.{HadoopFsRelation, LogicalRelation}
import org.apache.spark.sql.lakegate.SessionAccess

import io.lakegate.spark.{LakegateErrors, LakegateException, LakegateRuntime, Settings}
import io.lakegate.spark.auth.Identity

/**
 * File access through the ensemble (OKERA_ENABLE_OKERA_FS): Hadoop's s3a talks to the S3 proxy
 * instead of S3, and every request it sends is signed with the access key of the user whose
 * query or file operation it belongs to. The proxy then lets it through only where that user
 * holds a URI grant.
 *
 * How a request finds its user:
 *  - s3a opens an audit span on the thread that calls the file system (open, create, list,
 *    rename, ...), and every AWS request it makes for that call, on any thread, belongs to the
 *    span. lakegate's auditor (EnsembleAuditor; EnsembleSpan per AWS SDK) takes the key when the span is
 *    opened and puts it on each request the span creates;
 *  - on the driver the key is the current user's (the extension's identity of this thread),
 *    exchanged for a JWT at the ensemble; the extension also binds it to the thread's local
 *    properties when it plans a query, so the tasks of that query carry it;
 *  - in a task, the key is the one its job carries, and only if it was taken for the user the
 *    task runs for; threads a task starts (Parquet reads footers on a pool of its own) get the
 *    task's key while the task runs (EnsemblePlugin, TaskKeys);
 *  - anything else (an executor thread outside a task, no key, a key of another user) gets no
 *    key, and the request fails: s3a has no other credentials (UnboundCredentialsProvider).
 */
object OkeraFs {
  // Spark redacts local properties whose names match spark.redaction.regex (secret, access.key)
  // in event logs; these names match it.
  val AccessKeyProperty = "spark.lakegate.ensemble.accessKey"
  val SecretKeyProperty = "spark.lakegate.ensemble.secretKey"
  val BoundToProperty = "spark.lakegate.ensemble.boundTo"
  val NoKeyProperty = "spark.lakegate.ensemble.noKey" // why the query's tasks carry no key

  val AuditorClass = "io.lakegate.spark.ensemble.EnsembleAuditor"
  val ProviderClass = "io.lakegate.spark.ensemble.UnboundCredentialsProvider"
  val S3AFileSystemClass = "org.apache.hadoop.fs.s3a.S3AFileSystem"
  val PluginClass = "io.lakegate.spark.ensemble.EnsemblePlugin"

  /** The Hadoop settings that route s3a (and s3) through the ensemble, with lakegate's keys. */
  def hadoopSettings(endpoint: String): Seq[(String, String)] = Seq(
    "fs.s3a.impl" -> S3AFileSystemClass,
    "fs.s3.impl" -> S3AFileSystemClass,
    "fs.s3a.endpoint" -> endpoint,
    "fs.s3a.endpoint.region" -> "us-east-1",
    "fs.s3a.path.style.access" -> "true",
    "fs.s3a.connection.ssl.enabled" -> endpoint.startsWith("https:").toString,
    "fs.s3a.aws.credentials.provider" -> ProviderClass,
    "fs.s3a.audit.enabled" -> "true",
    "fs.s3a.audit.service.classname" -> AuditorClass,
    // Buckets are not probed at start: a user may hold grants on prefixes only.
    "fs.s3a.bucket.probe" -> "0")

  /**
   * s3a settings that only tune how it works (pools, timeouts, retries, buffers, committers,
   * server-side encryption)
   * and may stay in the cluster's configuration or be set by a session. Every other s3 setting
   * may change where requests go or how they are signed (endpoints, per-bucket options, proxies,
   * credentials, signers, client factories, auditors, implementations, ...): lakegate removes it
   * and refuses sessions that set it.
   */
  private val TuningPrefixes: Seq[String] = Seq(
    "fs.s3a.connection.maximum", "fs.s3a.connection.timeout", "fs.s3a.connection.establish.timeout",
    "fs.s3a.connection.request.timeout", "fs.s3a.connection.ttl", "fs.s3a.socket.", "fs.s3a.threads.",
    "fs.s3a.max.total.tasks", "fs.s3a.attempts.maximum", "fs.s3a.retry.", "fs.s3a.multipart.",
    "fs.s3a.fast.upload", "fs.s3a.block.size", "fs.s3a.buffer.dir", "fs.s3a.readahead.", "fs.s3a.input.",
    "fs.s3a.experimental.input.", "fs.s3a.vectored.", "fs.s3a.prefetch.", "fs.s3a.paging.maximum",
    "fs.s3a.list.version", "fs.s3a.directory.marker.", "fs.s3a.change.detection.", "fs.s3a.committer.",
    "fs.s3a.multiobjectdelete.enable", "fs.s3a.bulk.delete.page.size", "fs.s3a.etag.checksum.enabled",
    "fs.s3a.create.performance", "fs.s3a.downgrade.syncable.exceptions", "fs.s3a.executor.capacity",
    "fs.s3a.impl.disable.cache",
    // Server-side encryption only adds headers to uploads, which the proxy passes on.
    "fs.s3a.server-side-encryption", "fs.s3a.encryption.algorithm", "fs.s3a.encryption.key")

  /** A Hadoop setting (or spark.hadoop.* Spark setting) that could take s3 access around the proxy. */
  def isRoutingSetting(key: String): Boolean = {
    val k = key.toLowerCase(Locale.ROOT).stripPrefix("spark.hadoop.")
    (k.startsWith("fs.s3") || k.startsWith("fs.abstractfilesystem.s3")) && !TuningPrefixes.exists(k.startsWith)
  }

  /**
   * At the start of each session (the extension's parser is built then, before the session
   * touches a file): when OKERA_ENABLE_OKERA_FS is on, check that the cluster routes s3a through
   * the ensemble from its start, and apply the same settings to the session's Hadoop
   * configurations (removing every other routing setting); otherwise fail the session.
   *
   * The cluster's Spark configuration must carry them as spark.hadoop.* (the Databricks init
   * script writes them): s3a file systems are cached per bucket for the whole JVM, and one
   * created from a configuration without them (by the catalog, by a jar download on an executor,
   * before this session) would reach storage some other way for everyone.
   */
  def install(session: SparkSession): Unit = {
    val settings = LakegateRuntime.get(session).settings
    if (settings.okeraFs) {
      S3aSupport.require()
      val endpoint = settings.ensembleEndpoint
      if (Try(Class.forName(S3AFileSystemClass)).isFailure) {
        throw LakegateErrors.failure("OKERA_ENABLE_OKERA_FS needs Hadoop's s3a connector: put hadoop-aws " +
          s"${S3aSupport.hadoopAwsVersion} and its AWS SDK bundle on the driver's and executors' classpath")
      }
      val wanted = hadoopSettings(endpoint)
      val static = session.sparkContext.getConf
      val missing = wanted.filterNot { case (k, v) => static.getOption("spark.hadoop." + k).contains(v) }
      val extra = static.getAll.map(_._1).filter(k => k.startsWith("spark.hadoop.") && isRoutingSetting(k) &&
        !wanted.exists(w => "spark.hadoop." + w._1 == k)).sorted
      val plugins = static.get("spark.plugins", "").split(",").map(_.trim)
      if (!plugins.contains(PluginClass)) {
        throw LakegateErrors.failure(s"OKERA_ENABLE_OKERA_FS is on, but spark.plugins does not name $PluginClass, " +
          "which hands each task's key to the threads it starts; add it to spark.plugins")
      }
      if (missing.nonEmpty || extra.nonEmpty) {
        throw LakegateErrors.failure("OKERA_ENABLE_OKERA_FS is on, but the cluster's Spark configuration does not " +
          "route s3a through the ensemble from its start" +
          (if (missing.nonEmpty) "; add " + missing.map { case (k, v) => s"spark.hadoop.$k=$v" }.mkString(" ") else "") +
          (if (extra.nonEmpty) "; remove " + extra.mkString(" ") else "") +
          " (the Databricks init script writes exactly these; see docs/ensemble.md)")
      }
      for (conf <- Seq(session.sparkContext.hadoopConfiguration, SessionAccess.sharedHadoopConf(session))) {
        conf.synchronized {
          conf.iterator().asScala.map(_.getKey).filter(isRoutingSetting).toList.foreach(conf.unset)
          wanted.foreach { case (k, v) => conf.set(k, v, "lakegate OKERA_ENABLE_OKERA_FS") }
        }
      }
    }
  }

  /**
   * Refuses a session that changed s3 routing settings (SET fs.s3a.endpoint=…, spark.conf.set):
   * they reach the Hadoop configuration of its queries and could send them around the proxy.
   * Settings equal to the cluster's static configuration (overridden by install) are fine.
   */
  def refuseSessionOverrides(session: SparkSession): Unit = {
    val static = session.sparkContext.getConf
    val changed = session.conf.getAll.collect {
      case (k, v) if isRoutingSetting(k) && !static.getOption(k).contains(v) => k
    }.toSeq.sorted
    if (changed.nonEmpty) {
      throw LakegateErrors.failure(s"file access goes through the ensemble (OKERA_ENABLE_OKERA_FS) and this " +
        s"session sets ${changed.mkString(", ")}, which would change how s3a reaches storage; " +
        s"remove it (RESET ${changed.head}) to run queries")
    }
  }

  /**
   * Why an s3a file system's configuration does not route through the ensemble, if it does not:
   * checked when each s3a file system starts (by lakegate's auditor and credentials provider),
   * so that one made from a configuration a user changed (a reader option, say) fails instead of
   * being cached for everyone in the JVM.
   */
  def misrouted(conf: org.apache.hadoop.conf.Configuration): Option[String] =
    Option(SparkEnv.get).flatMap(e => Try(Settings.fromSparkConf(e.conf)).toOption) match {
      case Some(s) if s.okeraFs =>
        Try(hadoopSettings(s.ensembleEndpoint)).toOption match {
          case None => Some("the ensemble's URL (spark.lakegate.ensemble) is not valid")
          case Some(wanted) => wanted.collectFirst {
            case (k, v) if conf.get(k) != v => s"$k is '${conf.get(k)}' instead of '$v'"
          }
        }
      case Some(_) => None // OKERA_FS off: lakegate's classes only ever refuse (see UnboundCredentialsProvider)
      case None => Some("no Spark environment in this JVM")
    }

  def misroutedMessage(why: String): String =
    s"lakegate: this s3a file system does not go through the ensemble ($why); S3 settings may not be changed " +
      "under OKERA_ENABLE_OKERA_FS"

  private val clients = new ConcurrentHashMap[String, EnsembleKeys]()

  /** The current user's key, bound to this thread's local properties so its jobs carry it. */
  def bind(rt: LakegateRuntime, id: Identity): AccessKey = {
    val s = rt.settings
    val endpoint = s.ensembleEndpoint
    val keys = clients.computeIfAbsent(endpoint, e => new EnsembleKeys(e, s.connectTimeoutMs, s.requestTimeoutMs))
    val key = keys.forPrincipal(rt.credentials.principalKey(id), id.user, rt.credentials.token(id))
    val sc = rt.sc
    if (sc.getLocalProperty(AccessKeyProperty) != key.accessKeyId || sc.getLocalProperty(BoundToProperty) != id.user) {
      sc.setLocalProperty(AccessKeyProperty, key.accessKeyId)
      sc.setLocalProperty(SecretKeyProperty, key.secretAccessKey)
      sc.setLocalProperty(BoundToProperty, id.user)
      sc.setLocalProperty(NoKeyProperty, null)
    }
    key
  }

  /** No key for the jobs of this thread, and why: their S3 requests fail with that reason. */
  private def unbind(rt: LakegateRuntime, why: String): Unit = {
    val sc = rt.sc
    Seq(AccessKeyProperty, SecretKeyProperty, BoundToProperty).foreach(sc.setLocalProperty(_, null))
    sc.setLocalProperty(NoKeyProperty, why)
  }

  /**
   * Refuses a query reading files with s3 routing settings among its options
   * (`spark.read.option("fs.s3a.endpoint", …)`): they went into the Hadoop configuration the
   * files were listed with. An s3a file system of its paths made from such a configuration
   * (lakegate's auditor and provider refuse to start one, unless the options replaced them too)
   * is closed, which takes it out of the JVM's cache.
   */
  def refuseRelationOverrides(session: SparkSession, plan: LogicalPlan): Unit = plan.foreach {
    case l: LogicalRelation => l.relation match {
      case fs: HadoopFsRelation => refuseOptions(session, fs)
      case _ =>
    }
    case _ =>
  }

  private def refuseOptions(session: SparkSession, fs: HadoopFsRelation): Unit = {
    val keys = fs.options.keys.filter(isRoutingSetting).toSeq.sorted
    if (keys.nonEmpty) {
      // The cache is keyed by scheme, bucket and user, not by configuration: this finds the
      // instance whatever configuration made it; only one made from a misrouted one is closed.
      val conf = session.sparkContext.hadoopConfiguration
      fs.location.rootPaths.foreach { p =>
        Try(p.getFileSystem(conf)).foreach(f => if (misrouted(f.getConf).nonEmpty) Try(f.close()))
      }
      throw LakegateErrors.failure(s"file access goes through the ensemble (OKERA_ENABLE_OKERA_FS) and this " +
        s"read sets ${keys.mkString(", ")}, which would change how s3a reaches storage; remove the option")
    }
  }

  /** Before each query is planned: refuse s3a overrides, bind the user's key. */
  def beforeQuery(session: SparkSession, rt: LakegateRuntime, id: => Identity, plan: LogicalPlan): Unit =
    if (rt.settings.okeraFs) {
      refuseSessionOverrides(session)
      refuseRelationOverrides(session, plan)
      val conf = session.sparkContext.hadoopConfiguration
      val changed = hadoopSettings(rt.settings.ensembleEndpoint).collect { case (k, v) if conf.get(k) != v => k }
      if (changed.nonEmpty) {
        throw LakegateErrors.failure(s"file access goes through the ensemble (OKERA_ENABLE_OKERA_FS) and the " +
          s"cluster's Hadoop configuration was changed (${changed.mkString(", ")}); restart the cluster")
      }
      // A query that reads no S3 runs even when no key can be had (the ensemble is down, say);
      // one that does fails at its first S3 request, with this reason.
      try bind(rt, id) catch {
        case e: LakegateException => unbind(rt, e.getMessage.stripPrefix("lakegate: "))
      }
    }

  /** The key for an S3 request made on this thread, or why there is none. */
  def keyForCurrentThread(): Either[String, AccessKey] = try {
    val tc = TaskContext.get()
    if (tc != null) fromTask(tc)
    else TaskKeys.inherited() match {
      case Some(key) => key
      case None if Option(SparkEnv.get).exists(_.executorId != "driver") =>
        Left("an S3 request on an executor thread that no task started: lakegate cannot tell whose it is")
      case None => SparkSession.getActiveSession.orElse(SparkSession.getDefaultSession) match {
        case None => Left("no Spark session on this thread: lakegate cannot tell whose S3 request this is")
        case Some(session) =>
          val rt = LakegateRuntime.get(session)
          Right(bind(rt, rt.identity()))
      }
    }
  } catch {
    case e: Exception => Left(Option(e.getMessage).getOrElse(e.toString).stripPrefix("lakegate: "))
  }

  private[ensemble] def fromTask(tc: TaskContext): Either[String, AccessKey] = {
    val id = tc.getLocalProperty(AccessKeyProperty)
    val secret = tc.getLocalProperty(SecretKeyProperty)
    val boundTo = Option(tc.getLocalProperty(BoundToProperty)).getOrElse("")
    if (id == null || secret == null) {
      Left(Option(tc.getLocalProperty(NoKeyProperty)).getOrElse("this task carries no ensemble access key: its " +
        "job was not started by a query the lakegate extension planned (OKERA_ENABLE_OKERA_FS needs the extension " +
        "on the driver)"))
    } else {
      val runsFor = Option(tc.getLocalProperty(userProperty)).map(_.trim).filter(_.nonEmpty)
      runsFor match {
        case Some(u) if u != boundTo =>
          Left(s"this task runs for user '$u' but carries the access key taken for '$boundTo'; " +
            "run the query again (its plan was made for another user)")
        case _ => Right(AccessKey(id, secret, "", boundTo, 0L, 0L))
      }
    }
  }

  private lazy val userProperty: String =
    Option(SparkEnv.get).flatMap(e => Try(Settings.fromSparkConf(e.conf).userProperty).toOption)
      .getOrElse(Settings.Table.find(_._1 == "spark.lakegate.userProperty").get._3)
}
