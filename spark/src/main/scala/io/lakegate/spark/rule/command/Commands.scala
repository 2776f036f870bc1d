package io.lakegate.spark.rule.command

import scala.util.Try

import org.apache.spark.sql.catalyst.TableIdentifier
import org.apache.spark.sql.catalyst.analysis.UnresolvedRelation
import org.apache.spark.sql.catalyst.catalog.CatalogTable
import org.apache.spark.sql.catalyst.plans.logical.{LogicalPlan, SubqueryAlias}
import org.apache.spark.sql.connector.catalog.Identifier

import io.lakegate.spark.client.{Action, AuthObject}
import io.lakegate.spark.rule.collect.Relations
import io.lakegate.spark.rule.collect.Relations.{lower, normalizeUri}

/**
 * Writes and DDL: the privilege a command needs on its target, in the same request as the
 * SELECT objects of its sources. Commands are matched by class name and their fields read by
 * name, so one source tree serves Spark 3.5 and 4.x and Delta's commands need no Delta jar.
 * A command that is not listed needs no lakegate privilege (it reads or writes no table).
 */
object Commands {

  /** What a root command needs: objects to authorize, and the subtrees it writes to. */
  final case class Needs(objects: Seq[AuthObject], targets: Seq[LogicalPlan], newTable: Option[(String, String)] = None)
  val Nothing: Needs = Needs(Nil, Nil)

  /**
   * CREATE TABLE … AS SELECT writes its data with an inner command (an INSERT into the new
   * table or its location) that Spark analyses again on the same thread. The CREATE privilege
   * already covers it, so the inner write is not asked about again (per thread and user, briefly).
   */
  object InternalWrites {
    private val entries = new ThreadLocal[Map[String, Long]] { override def initialValue(): Map[String, Long] = Map.empty }
    def allow(principal: String, keys: Seq[String]): Unit = {
      val now = System.currentTimeMillis()
      entries.set(entries.get.filter(_._2 > now) ++ keys.map(k => (principal + "\u0000" + k) -> (now + 3600000L)))
    }
    def allowed(principal: String, o: AuthObject): Boolean = {
      val key = if (o.uri.nonEmpty) "uri:" + o.uri else s"table:${o.database}.${o.table}"
      entries.get.get(principal + "\u0000" + key).exists(_ > System.currentTimeMillis())
    }
  }

  /**
   * A command that lakegate authorized (MERGE, UPDATE, DELETE, CTAS, …) runs queries of its own
   * while it executes: Delta reads the target's files, CTAS writes through an inner INSERT.
   * Those are the command's implementation, not the user's queries, and were covered when the
   * command was authorized; applying the user's masks to them would corrupt the command.
   * They are recognised as analyses on the same thread under a newer SQL execution id than the
   * one in force when the command was authorized (so queries of a foreachBatch function, which
   * all run under the batch's execution id, are still each authorized).
   */
  object CommandExecution {
    private final case class Note(principal: String, outerExecutionId: String)
    private val note = new ThreadLocal[Note]
    private val ExecutionId = "spark.sql.execution.id"

    def authorized(sc: org.apache.spark.SparkContext, principal: String): Unit =
      note.set(Note(principal, sc.getLocalProperty(ExecutionId)))

    /** Is this analysis part of executing the last command authorized on this thread? */
    def inside(sc: org.apache.spark.SparkContext): Boolean = {
      val n = note.get
      n != null && {
        val current = sc.getLocalProperty(ExecutionId)
        current != null && current != n.outerExecutionId
      }
    }
  }

  private val CtasClasses = Set("CreateTableAsSelect", "ReplaceTableAsSelect", "CreateDataSourceTableAsSelectCommand",
    "CreateHiveTableAsSelectCommand", "OptimizedCreateHiveTableAsSelectCommand")

  private def newTableOf(plan: LogicalPlan, currentDb: => String): Option[(String, String)] =
    if (!CtasClasses.contains(plan.getClass.getSimpleName)) None
    else firstField(plan, "name", "tableName", "table", "tableDesc")
      .flatMap(target(_, Action.Create, currentDb, _ => false))
      .filter(_.table.nonEmpty).map(o => (o.database, o.table))

  private val FileFormats = Set("delta", "parquet", "orc", "csv", "json", "text", "avro")

  private def field(o: AnyRef, name: String): Option[AnyRef] =
    Try(o.getClass.getMethod(name).invoke(o)).toOption.flatMap(Option(_))

  private def firstField(o: AnyRef, names: String*): Option[AnyRef] = names.iterator.map(field(o, _)).collectFirst { case Some(v) => v }

  /** An object for a table named by name parts (catalog and database optional). */
  def fromParts(parts: Seq[String], action: String, currentDb: => String, isTemp: Seq[String] => Boolean): Option[AuthObject] =
    parts match {
      case Seq() => None
      case Seq(fmt, path) if FileFormats.contains(lower(fmt)) && Relations.looksLikePath(path) =>
        Some(AuthObject(uri = normalizeUri(path), action = action))
      case Seq(t) if isTemp(parts) => None
      case Seq(t) => Some(AuthObject(database = lower(currentDb), table = lower(t), action = action))
      case _ => Some(AuthObject(database = lower(parts(parts.length - 2)), table = lower(parts.last), action = action))
    }

  private def fromTableIdentifier(id: TableIdentifier, action: String, currentDb: => String,
      isTemp: Seq[String] => Boolean): Option[AuthObject] =
    id.database match {
      case Some(db) => fromParts(Seq(db, id.table), action, currentDb, isTemp)
      case None => fromParts(Seq(id.table), action, currentDb, isTemp)
    }

  /** The table something names: a plan node, an identifier, a catalog table. */
  def target(x: AnyRef, action: String, currentDb: => String, isTemp: Seq[String] => Boolean): Option[AuthObject] = x match {
    case null => None
    case Some(v: AnyRef) => target(v, action, currentDb, isTemp)
    case None => None
    case id: TableIdentifier => fromTableIdentifier(id, action, currentDb, isTemp)
    case ct: CatalogTable => fromTableIdentifier(ct.identifier, action, currentDb, _ => false)
    case id: Identifier => fromParts(id.namespace().toSeq :+ id.name(), action, currentDb, _ => false)
    case s: SubqueryAlias => target(s.child, action, currentDb, isTemp)
    case u: UnresolvedRelation => fromParts(u.multipartIdentifier, action, currentDb, isTemp)
    case p: LogicalPlan if Relations.isRelation(p) =>
      Relations.objects(p, currentDb).headOption.map(o => o.copy(columns = Nil, location = "", action = action))
    case p: LogicalPlan =>
      val cls = p.getClass.getSimpleName
      if (cls == "ResolvedTempView") None
      else {
        // ResolvedTable, ResolvedIdentifier, ResolvedPersistentView, UnresolvedIdentifier,
        // UnresolvedTable(OrView), ResolvedV1TableIdentifier, …: an identifier or name parts.
        firstField(p, "identifier").map(target(_, action, currentDb, isTemp))
          .orElse(firstField(p, "nameParts", "multipartIdentifier").collect {
            case parts: Seq[_] =>
              val ps = parts.map(_.toString)
              if (cls.startsWith("Unresolved")) fromParts(ps, action, currentDb, isTemp)
              else fromParts(ps, action, currentDb, _ => false)
          })
          .orElse(firstField(p, "child", "table").map(target(_, action, currentDb, isTemp)))
          .flatten
      }
    case _ => None
  }

  private def namespaceOf(x: AnyRef): Option[String] = x match {
    case s: String => Some(lower(s))
    case Some(v: AnyRef) => namespaceOf(v)
    case parts: Seq[_] => parts.lastOption.map(p => lower(p.toString))
    case arr: Array[String] => arr.lastOption.map(lower)
    case p: LogicalPlan => firstField(p, "namespace", "multipartIdentifier", "nameParts").flatMap(namespaceOf)
    case _ => None
  }

  private def databaseOfNewTable(x: AnyRef, currentDb: => String, isTemp: Seq[String] => Boolean): Option[AuthObject] =
    target(x, Action.Create, currentDb, _ => false).flatMap { o =>
      if (o.uri.nonEmpty) Some(o) else Some(AuthObject(database = o.database, action = Action.Create))
    }

  private val AlterV2 = Set("AddColumns", "ReplaceColumns", "DropColumns", "RenameColumn", "AlterColumn", "AlterColumns",
    "CommentOnTable", "SetTableProperties", "UnsetTableProperties", "SetTableLocation", "RenameTable",
    "AddPartitions", "DropPartitions", "RenamePartitions", "RecoverPartitions", "SetTableSerDeProperties",
    "RepairTable", "AnalyzeTable", "AnalyzeColumn", "SetViewProperties", "UnsetViewProperties", "AlterViewAs",
    "AlterViewSchemaBinding", "AddConstraint", "DropConstraint", "AlterTableCollation")

  /**
   * What the root command of a plan needs. `isTemp(parts)` says whether a one-part name is a
   * temporary view (which needs no lakegate privilege).
   */
  def needs(plan: LogicalPlan, currentDb: => String, isTemp: Seq[String] => Boolean): Needs = {
    val n = needs0(plan, currentDb, isTemp)
    newTableOf(plan, currentDb).map(t => n.copy(newTable = Some(t))).getOrElse(n)
  }

  private def needs0(plan: LogicalPlan, currentDb: => String, isTemp: Seq[String] => Boolean): Needs = {
    val cls = plan.getClass.getSimpleName
    def one(x: Option[AnyRef], action: String, writeTarget: Boolean): Needs = {
      val obj = x.flatMap(target(_, action, currentDb, isTemp))
      val tgt = if (writeTarget) x.collect { case p: LogicalPlan => p }.toSeq else Nil
      Needs(obj.toSeq, tgt)
    }
    cls match {
      // ---- writes: INSERT on the target; the target is not read-secured ----
      case "InsertIntoStatement" | "AppendData" | "OverwriteByExpression" | "OverwritePartitionsDynamic" |
           "ReplaceData" | "WriteDelta" | "UpdateTable" | "DeleteFromTable" =>
        one(field(plan, "table"), Action.Insert, writeTarget = true)
      case "MergeIntoTable" => one(field(plan, "targetTable"), Action.Insert, writeTarget = true)
      case "DeltaMergeInto" | "MergeIntoCommand" | "UpdateCommand" | "DeleteCommand" =>
        val t = field(plan, "target")
        val byCatalog = field(plan, "catalogTable").flatMap(target(_, Action.Insert, currentDb, isTemp))
        val n = one(t, Action.Insert, writeTarget = true)
        // Delta's commands hold the target as a file relation; its catalog table names it.
        if (byCatalog.isDefined) n.copy(objects = byCatalog.toSeq) else n
      case "DeltaUpdateTable" | "DeltaDelete" => one(field(plan, "child"), Action.Insert, writeTarget = true)
      case "InsertIntoHadoopFsRelationCommand" =>
        field(plan, "catalogTable").collect { case Some(ct: CatalogTable) => ct } match {
          case Some(ct) => one(Some(ct), Action.Insert, writeTarget = false)
          case None => Needs(field(plan, "outputPath").map(p => AuthObject(uri = normalizeUri(p.toString), action = Action.Insert)).toSeq, Nil)
        }
      case "InsertIntoHiveTable" => one(field(plan, "table"), Action.Insert, writeTarget = false)
      case "InsertIntoDataSourceCommand" => one(field(plan, "logicalRelation"), Action.Insert, writeTarget = false)
      case "InsertIntoDataSourceDirCommand" | "InsertIntoHiveDirCommand" | "InsertIntoDir" =>
        val loc = field(plan, "storage").flatMap(s => field(s, "locationUri")).collect { case Some(u) => u.toString }
        Needs(loc.map(u => AuthObject(uri = normalizeUri(u), action = Action.Insert)).toSeq, Nil)
      case "TruncateTableCommand" | "LoadDataCommand" => one(field(plan, "tableName").orElse(field(plan, "table")), Action.Insert, writeTarget = false)
      case "TruncateTable" | "TruncatePartition" => one(field(plan, "table"), Action.Insert, writeTarget = false)

      // ---- CREATE on the database ----
      case "CreateTable" | "CreateTableAsSelect" | "ReplaceTable" | "ReplaceTableAsSelect" | "CreateV2Table" =>
        Needs(firstField(plan, "name", "tableName").flatMap(databaseOfNewTable(_, currentDb, isTemp)).toSeq, Nil)
      case "CreateTableCommand" | "CreateDataSourceTableCommand" | "CreateDataSourceTableAsSelectCommand" =>
        Needs(field(plan, "table").flatMap(databaseOfNewTable(_, currentDb, isTemp)).toSeq, Nil)
      case "CreateHiveTableAsSelectCommand" | "OptimizedCreateHiveTableAsSelectCommand" =>
        Needs(field(plan, "tableDesc").flatMap(databaseOfNewTable(_, currentDb, isTemp)).toSeq, Nil)
      case "CreateTableLikeCommand" =>
        Needs(field(plan, "targetTable").flatMap(databaseOfNewTable(_, currentDb, isTemp)).toSeq, Nil)
      case "CreateView" =>
        Needs(firstField(plan, "child", "name").flatMap(databaseOfNewTable(_, currentDb, isTemp)).toSeq, Nil)
      case "CreateViewCommand" =>
        val persisted = field(plan, "viewType").exists(_.toString.contains("Persisted"))
        if (!persisted) Nothing
        else Needs(field(plan, "name").flatMap(databaseOfNewTable(_, currentDb, isTemp)).toSeq, Nil)
      case "CreateNamespace" | "CreateDatabaseCommand" =>
        Needs(firstField(plan, "name", "databaseName").flatMap(namespaceOf)
          .map(db => AuthObject(database = db, action = Action.Create)).toSeq, Nil)

      // ---- DROP ----
      case "DropTable" | "DropView" => one(field(plan, "child"), Action.Drop, writeTarget = false)
      case "DropTableCommand" => one(field(plan, "tableName"), Action.Drop, writeTarget = false)
      case "DropNamespace" | "DropDatabaseCommand" =>
        Needs(firstField(plan, "namespace", "databaseName").flatMap(namespaceOf)
          .map(db => AuthObject(database = db, action = Action.Drop)).toSeq, Nil)

      // ---- ALTER on the table or view ----
      case "AlterViewAsCommand" => one(field(plan, "name"), Action.Alter, writeTarget = false)
      case "AlterTableRenameCommand" => one(field(plan, "oldName"), Action.Alter, writeTarget = false)
      case c if c.startsWith("AlterTable") && c.endsWith("Command") =>
        one(firstField(plan, "tableName", "table"), Action.Alter, writeTarget = false)
      case c if c.startsWith("AlterView") && c.endsWith("Command") =>
        one(firstField(plan, "name", "tableName"), Action.Alter, writeTarget = false)
      case "RepairTableCommand" | "AnalyzeTableCommand" | "AnalyzeColumnCommand" | "AnalyzePartitionCommand" =>
        one(firstField(plan, "tableName", "tableIdent"), Action.Alter, writeTarget = false)
      case c if AlterV2.contains(c) => one(firstField(plan, "table", "child"), Action.Alter, writeTarget = false)
      case _ => Nothing
    }
  }
}
