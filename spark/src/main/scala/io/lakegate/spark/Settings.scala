package io.lakegate.spark

import java.nio.charset.StandardCharsets
import java.nio.file.{Files, Paths}

/**
 * The extension's settings. Each comes from the cluster's Spark configuration (SparkConf:
 * spark-defaults, --conf, or the session builder before the SparkContext starts), else from an
 * environment variable, else a default. They are read from the static SparkConf only, never from
 * the runtime `spark.conf.set`: otherwise a notebook user could point the extension at another
 * planner or switch the authentication mode.
 */
final case class Settings(
    planner: Option[String],
    token: Option[String],
    authMode: Option[String],
    signingKey: Option[String],
    clusterToken: Option[String],
    selfSigned: Boolean,
    tokenTtlSeconds: Long,
    userProperty: String,
    groupsProperty: Option[String],
    sessionIdFromJobGroup: Boolean,
    sessionIdProperty: String,
    builtinsDb: String,
    connectTimeoutMs: Int,
    requestTimeoutMs: Int,
    cacheTtlMs: Long,
    okeraFs: Boolean = false,
    ensemble: Option[String] = None,
    allowJvmCallsSetting: Option[Boolean] = None,
    trustedPlanClasses: Set[String] = Set.empty,
    signingKeyInConf: Boolean = false) {

  /**
   * May queries call JVM methods (reflect, java_method), load jars or create functions from
   * classes? Not on a cluster shared by several users (signing-key and self-signed modes, where
   * such code could read the key that vouches for every user), unless an administrator says so.
   */
  def allowJvmCalls: Boolean = allowJvmCallsSetting.getOrElse {
    val m = scala.util.Try(effectiveAuthMode).getOrElse(Settings.ModeSigningKey)
    m != Settings.ModeSigningKey && m != Settings.ModeSelfSigned
  }

  /**
   * The ensemble's base URL (`http(s)://host:port`) when file access goes through it
   * (OKERA_ENABLE_OKERA_FS), or a clear error.
   */
  def ensembleEndpoint: String = {
    val raw = ensemble.map(_.trim).filter(_.nonEmpty).getOrElse(throw LakegateErrors.failure(
      "OKERA_ENABLE_OKERA_FS is on but no ensemble is configured: set LAKEGATE_ENSEMBLE " +
        "(spark.lakegate.ensemble) to the S3 proxy's URL, e.g. https://ensemble.example.com:5010"))
    val uri = try new java.net.URI(raw.stripSuffix("/")) catch {
      case _: java.net.URISyntaxException => null
    }
    val ok = uri != null && (uri.getScheme == "http" || uri.getScheme == "https") && uri.getHost != null &&
      uri.getRawUserInfo == null && (uri.getRawPath == null || uri.getRawPath.isEmpty) &&
      uri.getRawQuery == null && uri.getRawFragment == null
    if (!ok) {
      throw LakegateErrors.failure(s"LAKEGATE_ENSEMBLE (spark.lakegate.ensemble) must be the S3 proxy's URL " +
        s"as http(s)://host:port, without a path, credentials or query, not '$raw'")
    }
    uri.toString
  }

  /** host:port of the planner (port 12050 when omitted), or a clear error. */
  def plannerAddress: String = planner.map(_.trim).filter(_.nonEmpty) match {
    case None =>
      throw LakegateErrors.failure(
        "no planner is configured: set spark.lakegate.planner or the environment variable " +
          "OKERA_PLANNER to the planner's host:port; every query on governed data fails until then")
    case Some(p) =>
      val s = p.stripPrefix("http://").stripSuffix("/")
      if (s.startsWith("[")) { if (s.contains("]:")) s else s + ":" + Settings.DefaultPort }
      else if (s.count(_ == ':') == 1) s
      else s + ":" + Settings.DefaultPort
  }

  /** The effective authentication mode. */
  def effectiveAuthMode: String = {
    if (token.isDefined) return Settings.ModeOkeraToken
    authMode.map(_.trim.toLowerCase(java.util.Locale.ROOT)).filter(_.nonEmpty) match {
      case Some(m) if Settings.Modes.contains(m) => m
      case Some(m) =>
        throw LakegateErrors.failure(s"unknown authentication mode '$m' in spark.lakegate.authMode / " +
          s"LAKEGATE_AUTH_MODE; use one of ${Settings.Modes.mkString(", ")}")
      case None =>
        if (signingKey.isDefined) Settings.ModeSigningKey
        else if (clusterToken.isDefined) Settings.ModeClusterToken
        else if (selfSigned) Settings.ModeSelfSigned
        else throw LakegateErrors.failure(
          "no credentials are configured: set OKERA_TOKEN (spark.lakegate.token), a signing key " +
            "(LAKEGATE_JWT_SIGNING_KEY), a cluster token (LAKEGATE_CLUSTER_TOKEN), or, for a proof of " +
            "concept only, LAKEGATE_SELF_SIGNED=true")
    }
  }
}

object Settings {
  val DefaultPort = 12050
  val ModeSigningKey = "signing-key"
  val ModeClusterToken = "cluster-token"
  val ModeSelfSigned = "self-signed"
  val ModeOkeraToken = "okera-token"
  val Modes: Seq[String] = Seq(ModeSigningKey, ModeClusterToken, ModeSelfSigned, ModeOkeraToken)
  val DefaultSessionIdProperty = "spark.databricks.notebook.id"

  /** (Spark conf key, environment variable, default) of every setting, for the docs and tests. */
  val Table: Seq[(String, String, String)] = Seq(
    ("spark.lakegate.planner", "OKERA_PLANNER", ""),
    ("spark.lakegate.token", "OKERA_TOKEN", ""),
    ("spark.lakegate.authMode", "LAKEGATE_AUTH_MODE", ""),
    ("spark.lakegate.jwtSigningKey", "LAKEGATE_JWT_SIGNING_KEY", ""),
    ("spark.lakegate.clusterToken", "LAKEGATE_CLUSTER_TOKEN", ""),
    ("spark.lakegate.selfSigned", "LAKEGATE_SELF_SIGNED", "false"),
    ("spark.lakegate.tokenTtlSeconds", "LAKEGATE_TOKEN_TTL_SECONDS", "300"),
    ("spark.lakegate.userProperty", "LAKEGATE_USER_PROPERTY", "user"),
    ("spark.lakegate.groupsProperty", "LAKEGATE_GROUPS_PROPERTY", ""),
    ("spark.lakegate.sessionIdFromJobGroup", "LAKEGATE_SESSION_ID_FROM_JOB_GROUP", "true"),
    ("spark.lakegate.sessionIdProperty", "LAKEGATE_SESSION_ID_PROPERTY", DefaultSessionIdProperty),
    ("spark.lakegate.builtinsDb", "OKERA_BUILTINS_DB", "okera_udfs"),
    ("spark.lakegate.connectTimeoutMs", "LAKEGATE_CONNECT_TIMEOUT_MS", "5000"),
    ("spark.lakegate.requestTimeoutMs", "LAKEGATE_REQUEST_TIMEOUT_MS", "30000"),
    ("spark.lakegate.cacheTtlMs", "LAKEGATE_CACHE_TTL_MS", "10000"),
    ("spark.lakegate.okeraFs", "OKERA_ENABLE_OKERA_FS", "false"),
    ("spark.lakegate.ensemble", "LAKEGATE_ENSEMBLE", ""),
    ("spark.lakegate.allowJvmCalls", "LAKEGATE_ALLOW_JVM_CALLS", ""),
    ("spark.lakegate.trustedPlanClasses", "LAKEGATE_TRUSTED_PLAN_CLASSES", ""))

  def load(conf: String => Option[String], env: String => Option[String]): Settings = {
    def get(key: String): Option[String] = {
      val (_, envName, _) = Table.find(_._1 == key).get
      conf(key).orElse(env(envName)).map(_.trim).filter(_.nonEmpty)
    }
    def str(key: String): String = get(key).getOrElse(Table.find(_._1 == key).get._3)
    def bool(key: String): Boolean = str(key).toLowerCase(java.util.Locale.ROOT) match {
      case "true" | "1" | "yes" => true
      case "false" | "0" | "no" | "" => false
      case other => throw LakegateErrors.failure(s"$key must be true or false, not '$other'")
    }
    def long(key: String): Long = try str(key).toLong catch {
      case _: NumberFormatException => throw LakegateErrors.failure(s"$key must be a whole number, not '${str(key)}'")
    }
    Settings(
      planner = get("spark.lakegate.planner"),
      token = get("spark.lakegate.token"),
      authMode = get("spark.lakegate.authMode"),
      signingKey = get("spark.lakegate.jwtSigningKey"),
      clusterToken = get("spark.lakegate.clusterToken"),
      selfSigned = bool("spark.lakegate.selfSigned"),
      tokenTtlSeconds = math.max(1L, long("spark.lakegate.tokenTtlSeconds")),
      userProperty = str("spark.lakegate.userProperty"),
      groupsProperty = get("spark.lakegate.groupsProperty"),
      sessionIdFromJobGroup = bool("spark.lakegate.sessionIdFromJobGroup"),
      sessionIdProperty = str("spark.lakegate.sessionIdProperty"),
      builtinsDb = str("spark.lakegate.builtinsDb").toLowerCase(java.util.Locale.ROOT),
      connectTimeoutMs = math.max(1L, long("spark.lakegate.connectTimeoutMs")).toInt,
      requestTimeoutMs = math.max(1L, long("spark.lakegate.requestTimeoutMs")).toInt,
      cacheTtlMs = math.max(0L, long("spark.lakegate.cacheTtlMs")),
      okeraFs = bool("spark.lakegate.okeraFs"),
      ensemble = get("spark.lakegate.ensemble"),
      allowJvmCallsSetting = get("spark.lakegate.allowJvmCalls").map(_ => bool("spark.lakegate.allowJvmCalls")),
      signingKeyInConf = conf("spark.lakegate.jwtSigningKey").exists(_.trim.nonEmpty),
      trustedPlanClasses = str("spark.lakegate.trustedPlanClasses").split(",").map(_.trim).filter(_.nonEmpty).toSet)
  }

  def fromSparkConf(conf: org.apache.spark.SparkConf): Settings =
    load(k => conf.getOption(k), k => Option(System.getenv(k)))

  /** A value that is either the text itself or the path of a file holding it. */
  def textOrFile(value: String, looksLikeText: String => Boolean): String =
    if (looksLikeText(value)) value
    else {
      val p = Paths.get(value)
      if (!Files.isRegularFile(p)) {
        throw LakegateErrors.failure(s"'${abbreviate(value)}' is neither the expected text nor a readable file")
      }
      new String(Files.readAllBytes(p), StandardCharsets.UTF_8).trim
    }

  private def abbreviate(s: String): String = if (s.length > 60) s.take(57) + "..." else s
}
