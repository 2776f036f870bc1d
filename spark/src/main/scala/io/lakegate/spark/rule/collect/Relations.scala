package io.lakegate.spark.rule.collect

import java.util.Locale

import scala.util.Try

import org.apache.spark.sql.catalyst.catalog.{CatalogTable, HiveTableRelation}
import org.apache.spark.sql.catalyst.expressions.Attribute
import org.apache.spark.sql.catalyst.plans.logical.{LogicalPlan, View}
import org.apache.spark.sql.execution.datasources.{HadoopFsRelation, LogicalRelation}
import org.apache.spark.sql.execution.datasources.v2.DataSourceV2Relation

import io.lakegate.spark.client.{AuthObject, Column}
import io.lakegate.spark.plan.LakegateWhoAmI

/**
 * What the planner is asked about for each kind of relation: Hive tables, data-source tables
 * (LogicalRelation with a catalog table), DataSource V2 relations (Delta catalog tables and
 * delta.`path`), permanent views, and path-based relations as URIs.
 */
object Relations {
  val WhoAmIDatabase = "okera_sample"
  val WhoAmITable = "whoami"

  private val FileFormats = Set("delta", "parquet", "orc", "csv", "json", "text", "avro", "binaryfile")

  /**
   * File indexes that only Delta Lake's own code builds: its transaction log (DeltaLogFileIndex)
   * and the files a MERGE/UPDATE/DELETE/OPTIMIZE rewrites or a change feed returns. Reads through
   * them are Delta's internals, not a user's query (the user's command is authorized itself).
   */
  val InternalIndexes: Set[String] = Set("DeltaLogFileIndex", "TahoeBatchFileIndex", "TahoeChangeFileIndex",
    "TahoeRemoveFileIndex", "CdcAddFileIndex")

  def lower(s: String): String = s.toLowerCase(Locale.ROOT)

  def columns(output: Seq[Attribute]): Seq[Column] = output.map(a => Column(a.name, a.dataType.catalogString))

  /** file:/x and /x become file:///x; s3a://, s3:// … are kept; no trailing slash. */
  def normalizeUri(u: String): String = {
    val s = u.trim
    val withScheme =
      if (s.startsWith("/")) "file://" + s
      else if (s.startsWith("file:") && !s.startsWith("file://")) "file://" + "/" + s.stripPrefix("file:").dropWhile(_ == '/')
      else if (s.startsWith("file://") && !s.startsWith("file:///")) "file:///" + s.stripPrefix("file://").dropWhile(_ == '/')
      else s
    if (withScheme.length > 1 && withScheme.endsWith("/") && !withScheme.endsWith(":///")) withScheme.stripSuffix("/")
    else withScheme
  }

  def looksLikePath(s: String): Boolean = s.contains("/") || s.contains(":")

  /** Is this a node lakegate governs as a relation (a leaf that reads data)? */
  def isRelation(p: LogicalPlan): Boolean = p match {
    case _: HiveTableRelation | _: LogicalRelation | _: DataSourceV2Relation | _: LakegateWhoAmI => true
    case _ => false
  }

  private def tableObject(ct: CatalogTable, output: Seq[Attribute], currentDb: => String): AuthObject = {
    val id = ct.identifier
    AuthObject(
      database = lower(id.database.getOrElse(currentDb)),
      table = lower(id.table),
      columns = columns(output),
      location = ct.storage.locationUri.map(u => normalizeUri(u.toString)).getOrElse(""))
  }

  /**
   * The objects a relation stands for: usually one; a path-based relation with several root
   * paths gives one URI object per path; a relation lakegate does not govern gives none.
   */
  def objects(p: LogicalPlan, currentDb: => String): Seq[AuthObject] = p match {
    case w: LakegateWhoAmI => Seq(AuthObject(WhoAmIDatabase, WhoAmITable, columns = columns(w.output)))
    case h: HiveTableRelation => Seq(tableObject(h.tableMeta, h.output, currentDb))
    case l: LogicalRelation =>
      l.catalogTable match {
        case Some(ct) => Seq(tableObject(ct, l.output, currentDb))
        case None => l.relation match {
          case fs: HadoopFsRelation if InternalIndexes.contains(fs.location.getClass.getSimpleName) => Nil
          case fs: HadoopFsRelation => fs.location.rootPaths.map(path => AuthObject(uri = normalizeUri(path.toString)))
          case _ => Nil
        }
      }
    case r: DataSourceV2Relation => v2Objects(r, currentDb)
    case _ => Nil
  }

  private def v2Objects(r: DataSourceV2Relation, currentDb: => String): Seq[AuthObject] = {
    val table = r.table
    // Delta's DeltaTableV2: a catalog table, or a path (delta.`/p`, format("delta").load(p)).
    val deltaCatalogTable: Option[CatalogTable] =
      if (table.getClass.getName.endsWith("DeltaTableV2")) {
        Try(table.getClass.getMethod("catalogTable").invoke(table).asInstanceOf[Option[CatalogTable]]).toOption.flatten
      } else None
    deltaCatalogTable match {
      case Some(ct) => return Seq(tableObject(ct, r.output, currentDb))
      case None =>
    }
    val location = Option(table.properties()).flatMap(p => Option(p.get("location"))).map(normalizeUri)
    r.identifier match {
      case Some(id) if id.namespace().length == 1 && FileFormats.contains(lower(id.namespace()(0))) && looksLikePath(id.name()) =>
        Seq(AuthObject(uri = normalizeUri(id.name())))
      case Some(id) if id.namespace().nonEmpty =>
        Seq(AuthObject(database = lower(id.namespace().last), table = lower(id.name()), columns = columns(r.output),
          location = location.getOrElse("")))
      case Some(id) => Seq(AuthObject(database = lower(currentDb), table = lower(id.name()), columns = columns(r.output),
        location = location.getOrElse("")))
      case None =>
        if (table.getClass.getName.endsWith("DeltaTableV2")) {
          Try(table.getClass.getMethod("path").invoke(table).toString).toOption
            .map(p => Seq(AuthObject(uri = normalizeUri(p)))).getOrElse(location.map(l => Seq(AuthObject(uri = l))).getOrElse(Nil))
        } else location.map(l => Seq(AuthObject(uri = l))).getOrElse(Nil)
    }
  }

  /** "db.view" of a permanent view. */
  def viewName(v: View, currentDb: => String): String =
    lower(v.desc.identifier.database.getOrElse(currentDb)) + "." + lower(v.desc.identifier.table)

  def viewObject(v: View, underView: String, currentDb: => String): AuthObject = {
    val id = v.desc.identifier
    AuthObject(database = lower(id.database.getOrElse(currentDb)), table = lower(id.table), isView = true,
      columns = columns(v.output), underView = underView)
  }
}
