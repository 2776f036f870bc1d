package io.lakegate.spark.rule.collect

import java.util.Locale

import scala.util.Try

import org.apache.spark.sql.catalyst.catalog.{CatalogTable, HiveTableRelation}
import org.apache.spark.sql.catalyst.expressions.Attribute
import org.apache.spark.sql.catalyst.plans.logical.{LogicalPlan, View}
import org.apache.spark.sql.execution.datasources.{HadoopFsRelation, LogicalRelation}
import org.apache.spark.sql.catalyst.streaming.StreamingRelationV2
import org.apache.spark.sql.execution.datasources.v2.{DataSourceV2Relation, DataSourceV2ScanRelation, FileTable}
import org.apache.spark.sql.execution.streaming.StreamingRelation

import io.lakegate.spark.client.{AuthObject, Column}
import io.lakegate.spark.rule.inventory.Inventory
import io.lakegate.spark.plan.LakegateWhoAmI

/**
 * What the planner is asked about for each kind of relation: Hive tables, data-source tables
 * (LogicalRelation with a catalog table), DataSource V2 relations (Delta catalog tables and
 * delta.`path`), permanent views, and path-based relations as URIs.
 */
/** What a relation reads. */
sealed trait Reads
object Reads {
  /** These objects (tables, views, URIs); none for a source that holds no governed data. */
  final case class Objects(objects: Seq[AuthObject]) extends Reads
  /** Delta Lake's own reads of its log and of the files a command rewrites (the command is governed). */
  case object InternalData extends Reads
  /** A source lakegate cannot name: refused. */
  final case class Ungoverned(what: String) extends Reads
}

object Relations {
  val WhoAmIDatabase = "okera_sample"
  val WhoAmITable = "whoami"

  private val FileFormats = Set("delta", "parquet", "orc", "csv", "json", "text", "avro", "binaryfile")

  /**
   * File indexes that only Delta Lake's own code builds: its transaction log (DeltaLogFileIndex)
   * and the files a MERGE/UPDATE/DELETE/OPTIMIZE rewrites (CdcAddFileIndex, a subclass of
   * TahoeBatchFileIndex, is a change feed and matched first). Reads through
   * them are Delta's internals, not a user's query (the user's command is authorized itself).
   */
  val InternalIndexes: Set[String] = Set("DeltaLogFileIndex", "TahoeBatchFileIndex")

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
  /** A leaf that reads data, as the inventory classifies it (one list), or okera_sample.whoami. */
  def isRelation(p: LogicalPlan): Boolean = p.isInstanceOf[LakegateWhoAmI] || Inventory.isRelation(p)

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
   * paths gives one URI object per path; Delta's own internal reads give none.
   */
  def objects(p: LogicalPlan, currentDb: => String): Seq[AuthObject] = reads(p, currentDb) match {
    case Reads.Objects(os) => os
    case _ => Nil
  }

  /** What a relation reads, by its kind. Anything lakegate cannot name is Ungoverned (refused). */
  def reads(p: LogicalPlan, currentDb: => String): Reads = p match {
    case w: LakegateWhoAmI => Reads.Objects(Seq(AuthObject(WhoAmIDatabase, WhoAmITable, columns = columns(w.output))))
    case h: HiveTableRelation => Reads.Objects(Seq(tableObject(h.tableMeta, h.output, currentDb)))
    case l: LogicalRelation =>
      l.catalogTable match {
        case Some(ct) => Reads.Objects(Seq(tableObject(ct, l.output, currentDb)))
        case None => baseRelationReads(l.relation)
      }
    case r: DataSourceV2Relation => v2Reads(r, currentDb)
    case s: DataSourceV2ScanRelation => v2Reads(s.relation, currentDb) match {
      case Reads.Objects(os) => Reads.Objects(os.map(o => if (o.table.nonEmpty) o.copy(columns = columns(s.output)) else o))
      case other => other
    }
    case s: StreamingRelation =>
      s.dataSource.catalogTable match {
        case Some(ct) => Reads.Objects(Seq(tableObject(ct, s.output, currentDb)))
        case None => sourceByName(s.dataSource.className, s.dataSource.paths ++ s.dataSource.options.get("path").toSeq)
      }
    case s: StreamingRelationV2 =>
      (s.catalog, s.identifier) match {
        case (Some(c), Some(id)) if c.name() == SessionCatalog =>
          Reads.Objects(Seq(AuthObject(database = lower(id.namespace().lastOption.getOrElse(currentDb)),
            table = lower(id.name()), columns = columns(s.output))))
        case (Some(c), Some(_)) => Reads.Ungoverned(s"tables of the catalog ${c.name()}")
        case _ => sourceByName(s.sourceName, Option(s.extraOptions.get("path")).toSeq)
      }
    case _ => Reads.Ungoverned(p.getClass.getName)
  }

  /** Sources that hold no governed data, by the names streams know them by. */
  private val DataFreeSources = Set("rate", "rate-micro-batch", "ratestreamprovider", "ratestreamtable")

  private def sourceByName(name: String, paths: Seq[String]): Reads = {
    val n = lower(name).split('.').last
    if (paths.nonEmpty) Reads.Objects(paths.distinct.map(p => AuthObject(uri = normalizeUri(p))))
    else if (DataFreeSources.contains(n)) Reads.Objects(Nil)
    else Reads.Ungoverned(s"the data source $name")
  }

  private val SessionCatalog = "spark_catalog"

  private def baseRelationReads(rel: org.apache.spark.sql.sources.BaseRelation): Reads = rel match {
    case fs: HadoopFsRelation =>
      val index = fs.location.getClass.getSimpleName
      if (InternalIndexes.contains(index)) Reads.InternalData
      else if (ChangeFeedIndexes.contains(index)) deltaTablePath(fs.location).map(u => Reads.Objects(Seq(AuthObject(uri = u))))
        .getOrElse(Reads.Ungoverned(s"a Delta change feed ($index) whose table lakegate cannot name"))
      else Reads.Objects(fs.location.rootPaths.map(path => AuthObject(uri = normalizeUri(path.toString))))
    case other if other.getClass.getSimpleName == "DeltaCDFRelation" =>
      Try(invoke(invoke(invoke(invoke(other, "snapshotWithSchemaMode"), "snapshot"), "deltaLog"), "dataPath").toString)
        .toOption.map(u => Reads.Objects(Seq(AuthObject(uri = normalizeUri(u)))))
        .getOrElse(Reads.Ungoverned("a Delta change feed whose table lakegate cannot name"))
    case other => Reads.Ungoverned(s"the data source relation ${other.getClass.getName}")
  }

  private def invoke(o: AnyRef, method: String): AnyRef = o.getClass.getMethod(method).invoke(o)

  /** The table directory of a Delta file index (TahoeFileIndex.path). */
  private def deltaTablePath(index: AnyRef): Option[String] = Try(normalizeUri(invoke(index, "path").toString)).toOption

  /**
   * Delta's change data feed (table_changes, readChangeFeed) reads a table's history with every
   * column as it was: governed as a read of the table's directory (SELECT ON URI).
   */
  val ChangeFeedIndexes: Set[String] = Set("TahoeChangeFileIndex", "CdcAddFileIndex", "TahoeRemoveFileIndex")

  /** Is t Delta's V2 table (DeltaTableV2), found by class name so no Delta jar is needed to compile? */
  def isDeltaTable(t: AnyRef): Boolean = t.getClass.getName.endsWith("DeltaTableV2")

  private def v2Reads(r: DataSourceV2Relation, currentDb: => String): Reads = {
    val table = r.table
    // Delta's DeltaTableV2: a catalog table, or a path (delta.`/p`, format("delta").load(p)).
    val isDelta = isDeltaTable(table)
    val deltaCatalogTable: Option[CatalogTable] =
      if (isDelta) Try(invoke(table, "catalogTable").asInstanceOf[Option[CatalogTable]]).toOption.flatten else None
    deltaCatalogTable match {
      case Some(ct) => return Reads.Objects(Seq(tableObject(ct, r.output, currentDb)))
      case None =>
    }
    table match {
      case ft: FileTable => return Reads.Objects(ft.fileIndex.rootPaths.map(p => AuthObject(uri = normalizeUri(p.toString))))
      case _ =>
    }
    val location = Option(table.properties()).flatMap(p => Option(p.get("location"))).map(normalizeUri)
    val catalogName = r.catalog.map(_.name())
    r.identifier match {
      case Some(id) if id.namespace().length == 1 && FileFormats.contains(lower(id.namespace()(0))) && looksLikePath(id.name()) =>
        Reads.Objects(Seq(AuthObject(uri = normalizeUri(id.name()))))
      case Some(_) if catalogName.exists(_ != SessionCatalog) =>
        Reads.Ungoverned(s"tables of the catalog ${catalogName.get}")
      case Some(id) if id.namespace().nonEmpty =>
        Reads.Objects(Seq(AuthObject(database = lower(id.namespace().last), table = lower(id.name()), columns = columns(r.output),
          location = location.getOrElse(""))))
      case Some(id) => Reads.Objects(Seq(AuthObject(database = lower(currentDb), table = lower(id.name()),
        columns = columns(r.output), location = location.getOrElse(""))))
      case None if isDelta =>
        Try(invoke(table, "path").toString).toOption.orElse(location)
          .map(p => Reads.Objects(Seq(AuthObject(uri = normalizeUri(p)))))
          .getOrElse(Reads.Ungoverned("a Delta table without a name or a path"))
      case None => location.map(l => Reads.Objects(Seq(AuthObject(uri = l))))
        .getOrElse(Reads.Ungoverned(s"the data source table ${table.getClass.getName}"))
    }
  }

  /** The table a plan resolved alone names (ResolvedTable, ResolvedPersistentView), as a SELECT object. */
  def operandObject(p: LogicalPlan, currentDb: => String): Option[AuthObject] = p.getClass.getSimpleName match {
    case "ResolvedTable" | "ResolvedPersistentView" =>
      Try(p.getClass.getMethod("identifier").invoke(p).asInstanceOf[org.apache.spark.sql.connector.catalog.Identifier]).toOption
        .map(id => AuthObject(database = lower(id.namespace().lastOption.getOrElse(currentDb)), table = lower(id.name())))
    case _ => None
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
