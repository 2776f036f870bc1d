package io.lakegate.spark.rule.command

import scala.util.Try

import org.apache.spark.sql.catalyst.TableIdentifier
import org.apache.spark.sql.catalyst.analysis.UnresolvedRelation
import org.apache.spark.sql.catalyst.catalog.CatalogTable
import org.apache.spark.sql.catalyst.plans.logical.{LogicalPlan, SubqueryAlias}
import org.apache.spark.sql.connector.catalog.Identifier
import org.apache.spark.sql.types.{DataType, StructType}

import io.lakegate.spark.client.{Action, AuthObject, Column, ViewRead}
import io.lakegate.spark.rule.inventory.{CommandKind, MetaLevel}
import io.lakegate.spark.rule.collect.Relations
import io.lakegate.spark.rule.collect.Relations.{lower, normalizeUri}

/**
 * What each governed command needs from the planner, by the kind the inventory gives its class
 * (rule/inventory). Fields are read by name, so one source tree serves Spark 3.5 and 4.x and
 * Delta's commands need no Delta jar at compile time. A governed command whose target cannot be
 * named is refused: nothing is let through because lakegate could not read it.
 *
 * Privileges: append = INSERT; anything that replaces, changes or removes rows (OVERWRITE,
 * UPDATE, DELETE, MERGE, TRUNCATE, RESTORE, OPTIMIZE, VACUUM) = ALL on the table, which also
 * covers the reads such a statement makes of the target (a WHERE or SET that looks at a column
 * needs to see it unmasked); a LOCATION given, set or written = ALL on that URI.
 */
object Commands {

  /**
   * What a root command needs: objects to authorize; the subtrees it writes to (not read-secured);
   * metadata checks made on the decisions; the targets of a CTAS scope.
   */
  final case class Needs(
      objects: Seq[AuthObject],
      targets: Seq[LogicalPlan] = Nil,
      metadata: Seq[MetadataNeed] = Nil,
      scopeTargets: Seq[AuthObject] = Nil)
  val Nothing: Needs = Needs(Nil)

  /** Metadata of obj that `what` (a command, an API) shows, and how much of the data that is. */
  final case class MetadataNeed(obj: AuthObject, level: MetaLevel, what: String)

  /** A command lakegate must refuse, with why (the rule adds the user and what to ask for). */
  class Refusal(val what: String) extends RuntimeException(what)
  private def refuse(what: String): Nothing = throw new Refusal(what)

  /** What the orchestrator gives: the session's current database, temp views, table existence. */
  trait Context {
    def currentDb: String
    def isTemp(parts: Seq[String]): Boolean
    def exists(db: String, table: String): Boolean
    /** Where the catalog puts a managed table of that name (not a location the user chose). */
    def defaultLocation(db: String, table: String): Option[String]
    def allowJvmCalls: Boolean
    /** The table or view named by `o` as the planner should see it for SELECT (with its columns). */
    def resolveForSelect(o: AuthObject): Option[AuthObject]
    /** The objects a view's definition reads directly. */
    def viewReads(query: LogicalPlan): Seq[ViewRead]
  }

  private val FileFormats = Set("delta", "parquet", "orc", "csv", "json", "text", "avro")

  def field(o: AnyRef, name: String): Option[AnyRef] =
    Try(o.getClass.getMethod(name).invoke(o)).toOption.flatMap(Option(_))

  def firstField(o: AnyRef, names: String*): Option[AnyRef] = names.iterator.map(field(o, _)).collectFirst { case Some(v) => v }

  /** An object for a table named by name parts (catalog and database optional). */
  def fromParts(parts: Seq[String], action: Action, currentDb: => String, isTemp: Seq[String] => Boolean): Option[AuthObject] =
    parts match {
      case Seq() => None
      case Seq(fmt, path) if FileFormats.contains(lower(fmt)) && Relations.looksLikePath(path) =>
        Some(AuthObject(uri = normalizeUri(path), action = action))
      case Seq(t) if isTemp(parts) => None
      case Seq(t) => Some(AuthObject(database = lower(currentDb), table = lower(t), action = action))
      case _ => Some(AuthObject(database = lower(parts(parts.length - 2)), table = lower(parts.last), action = action))
    }

  private def fromTableIdentifier(id: TableIdentifier, action: Action, currentDb: => String,
      isTemp: Seq[String] => Boolean): Option[AuthObject] =
    id.database match {
      case Some(db) => fromParts(Seq(db, id.table), action, currentDb, isTemp)
      case None => fromParts(Seq(id.table), action, currentDb, isTemp)
    }

  /** The table something names: a plan node, an identifier, a catalog table. */
  def target(x: AnyRef, action: Action, currentDb: => String, isTemp: Seq[String] => Boolean): Option[AuthObject] = x match {
    case null => None
    case Some(v: AnyRef) => target(v, action, currentDb, isTemp)
    case None => None
    case id: TableIdentifier => fromTableIdentifier(id, action, currentDb, isTemp)
    case ct: CatalogTable => fromTableIdentifier(ct.identifier, action, currentDb, _ => false)
    case id: Identifier => fromParts(id.namespace().toSeq :+ id.name(), action, currentDb, _ => false)
    case s: SubqueryAlias => target(s.child, action, currentDb, isTemp)
    case d if Relations.isDeltaTable(d) =>
      field(d, "catalogTable").collect { case Some(ct: CatalogTable) => ct }
        .flatMap(ct => fromTableIdentifier(ct.identifier, action, currentDb, _ => false))
        .orElse(field(d, "path").map(p => AuthObject(uri = normalizeUri(p.toString), action = action)))
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


  private def overwriteMode(x: Option[AnyRef]): Boolean = x.exists(_.toString.equalsIgnoreCase("Overwrite"))

  private def optString(x: Option[AnyRef]): Option[String] = x match {
    case Some(Some(s: String)) => Some(s)
    case Some(s: String) => Some(s)
    case Some(Some(u: java.net.URI)) => Some(u.toString)
    case _ => scala.None
  }

  private def uriAll(loc: String): AuthObject = AuthObject(uri = normalizeUri(loc), action = Action.All)

  /** The location a CREATE gives: TableSpec.location, a CatalogTable's storage, a path option. */
  private def locationOf(plan: LogicalPlan): Seq[String] = {
    val fromSpec = field(plan, "tableSpec").flatMap(ts => optString(field(ts, "location")))
    val fromTable = firstField(plan, "table", "tableDesc").collect { case ct: CatalogTable => ct }
      .flatMap(_.storage.locationUri.map(_.toString))
    val fromFormat = field(plan, "fileFormat").flatMap(f => optString(field(f, "locationUri")))
    val fromOptions = firstField(plan, "writeOptions", "options").collect { case m: Map[_, _] => m }
      .flatMap(_.collectFirst { case (k, v) if k.toString.equalsIgnoreCase("path") => v.toString })
    (fromSpec ++ fromTable ++ fromFormat ++ fromOptions).toSeq.distinct
  }

  /** The table a command names, or a refusal saying that it could not be named. */
  private def named(plan: LogicalPlan, action: Action, ctx: Context, names: String*): AuthObject =
    names.iterator.map(field(plan, _)).collectFirst { case Some(v) => v }
      .flatMap(target(_, action, ctx.currentDb, ctx.isTemp)) match {
      case Some(o) => o
      case scala.None => refuse(s"run ${plan.getClass.getSimpleName}: lakegate cannot tell which table it touches")
    }

  private val TargetFields = Seq("table", "targetTable", "target", "child", "tableName", "tableIdent", "oldName",
    "name", "sourceTable", "catalogTable")

  private def newTableObjects(plan: LogicalPlan, ctx: Context, replacing: Boolean): Needs = {
    val t = named(plan, Action.Create, ctx, "name", "tableName", "table", "tableDesc", "targetTable")
    val managed = if (t.table.nonEmpty) ctx.defaultLocation(t.database, t.table).map(normalizeUri) else scala.None
    val locations = locationOf(plan).map(normalizeUri).filterNot(l => managed.contains(l)).map(uriAll)
    if (t.uri.nonEmpty) return Needs(Seq(t.copy(action = Action.All)) ++ locations, scopeTargets = Seq(t))
    val db = AuthObject(database = t.database, action = Action.Create)
    val existing = ctx.exists(t.database, t.table)
    val overwrite = replacing || overwriteMode(field(plan, "mode"))
    val replace = if (existing && overwrite) Seq(t.copy(action = Action.All)) else Nil
    // A table that does not exist yet is sent as a definition (CREATE with its columns and location):
    // the planner records it when allowed, so it can be granted on and tagged at once.
    val definition = if (existing) Nil else newTableColumns(plan) match {
      case Nil => Nil
      case cols => Seq(t.copy(action = Action.Create, columns = cols,
        location = locationOf(plan).headOption.orElse(ctx.defaultLocation(t.database, t.table)).map(normalizeUri).getOrElse("")))
    }
    Needs(Seq(db) ++ definition ++ replace ++ locations, scopeTargets = Seq(t.copy(action = Action.Insert)) ++
      locations.map(l => l.copy(action = Action.Insert)) ++ managed.map(m => AuthObject(uri = m, action = Action.Insert)))
  }

  /** The columns a CREATE TABLE [AS SELECT] gives its new table, where the plan says them. */
  private def newTableColumns(plan: LogicalPlan): Seq[Column] = {
    def fromSchema(x: AnyRef): Seq[Column] = x match {
      case st: StructType => st.fields.toSeq.map(f => Column(f.name, f.dataType.catalogString))
      case _ => Nil
    }
    def fromColumnDefinitions(x: AnyRef): Seq[Column] = x match {
      case cs: Seq[_] => cs.flatMap {
        case c: AnyRef => for { n <- field(c, "name"); d <- field(c, "dataType") }
          yield Column(n.toString, d.asInstanceOf[DataType].catalogString)
      }
      case _ => Nil
    }
    val fromQuery = firstField(plan, "query").collect {
      case Some(q: LogicalPlan) if q.resolved => Relations.columns(q.output)
      case q: LogicalPlan if q.resolved => Relations.columns(q.output)
    }.getOrElse(Nil)
    if (fromQuery.nonEmpty) fromQuery
    else firstField(plan, "tableSchema").map(fromSchema)
      .orElse(firstField(plan, "columns").map(fromColumnDefinitions))
      .orElse(firstField(plan, "table", "tableDesc").collect { case ct: CatalogTable => fromSchema(ct.schema) })
      .getOrElse(Nil)
  }

  private def isPersistedView(plan: LogicalPlan): Boolean =
    field(plan, "viewType").forall(_.toString.contains("Persisted"))

  /** What the root command of a plan needs, given its kind. */
  def needs(plan: LogicalPlan, kind: CommandKind, ctx: Context): Needs = {
    import CommandKind._
    val cls = plan.getClass.getSimpleName
    def writeTarget(names: String*): Option[LogicalPlan] =
      names.iterator.map(field(plan, _)).collectFirst { case Some(p: LogicalPlan) => p }
    kind match {
      case Harmless | Wrapper | Listing => Nothing
      case JvmCode =>
        if (ctx.allowJvmCalls) Nothing
        else refuse(s"run ${cls.stripSuffix("Command")}: it loads or runs code other than SQL, which could read the " +
          "key that vouches for every user of this cluster")
      case Write => writeNeeds(plan, cls, ctx)
      case Destroy =>
        val t = named(plan, Action.All, ctx, TargetFields: _*)
        Needs(Seq(t.copy(columns = Nil, action = Action.All)), writeTarget("table", "targetTable", "target", "child").toSeq)
      case WriteDirectory =>
        val loc = field(plan, "storage").flatMap(s => optString(field(s, "locationUri")))
          .getOrElse(refuse(s"run $cls: lakegate cannot tell which directory it writes"))
        Needs(Seq(uriAll(loc)))
      case Create => newTableObjects(plan, ctx, replacing = cls == "ReplaceTable").copy(scopeTargets = Nil) match {
        case n if cls == "CreateTableLikeCommand" =>
          val src = named(plan, Action.Select, ctx, "sourceTable")
          n.copy(metadata = ctx.resolveForSelect(src).map(MetadataNeed(_, MetaLevel.AllColumns, cls)).toSeq)
        case n => n
      }
      case CreateAsSelect => newTableObjects(plan, ctx, replacing = cls.startsWith("Replace"))
      case CreateView | AlterView =>
        if (!isPersistedView(plan)) Nothing
        else {
          val v = named(plan, Action.Create, ctx, "name", "child")
          val query = firstField(plan, "plan", "query").collect { case q: LogicalPlan => q }
            .getOrElse(refuse(s"run $cls: lakegate cannot read the view's definition"))
          // Asked once the definition is resolved (the final pass); columns and reads need it.
          if (!query.resolved) return Nothing
          val replacing = kind == AlterView || (field(plan, "replace").contains(true) && ctx.exists(v.database, v.table))
          val action = if (replacing) Action.Alter else Action.Create
          Needs(Seq(v.copy(isView = true, action = action, columns = Relations.columns(query.output),
            viewReads = ctx.viewReads(query))))
        }
      case CreateDatabase =>
        val db = firstField(plan, "name", "databaseName").flatMap(namespaceOf)
          .getOrElse(refuse(s"run $cls: lakegate cannot tell which database it creates"))
        val loc = optString(field(plan, "path")).toSeq ++
          field(plan, "properties").collect { case m: Map[_, _] => m.toSeq }.getOrElse(Nil)
            .collect { case (k, v) if k.toString.equalsIgnoreCase("location") => v.toString }
        Needs(Seq(AuthObject(database = db, action = Action.Create)) ++ loc.map(uriAll))
      case Drop =>
        val t = target(field(plan, "child").orElse(field(plan, "tableName")).orNull, Action.Drop, ctx.currentDb, ctx.isTemp)
        Needs(t.toSeq)
      case DropDatabase =>
        val db = firstField(plan, "namespace", "databaseName").flatMap(namespaceOf)
          .getOrElse(refuse(s"run $cls: lakegate cannot tell which database it drops"))
        Needs(Seq(AuthObject(database = db, action = Action.Drop)))
      case Alter =>
        val t = named(plan, Action.Alter, ctx, TargetFields: _*)
        Needs(Seq(t.copy(columns = Nil, location = "", action = Action.Alter)) ++ alterLocations(plan).map(uriAll))
      case AlterDatabase =>
        val db = firstField(plan, "namespace", "databaseName").flatMap(namespaceOf)
          .getOrElse(refuse(s"run $cls: lakegate cannot tell which database it changes"))
        Needs(Seq(AuthObject(database = db, action = Action.Alter)) ++ optString(field(plan, "location")).toSeq.map(uriAll))
      case Metadata(level) =>
        val t = named(plan, Action.Select, ctx, "relation", "table", "child", "tableName", "path")
        if (t.uri.nonEmpty) Needs(Seq(t.copy(action = Action.Select)))
        else {
          val full = ctx.resolveForSelect(t).getOrElse(refuse(s"run $cls: lakegate cannot resolve ${t.displayName}"))
          Needs(Nil, metadata = Seq(MetadataNeed(full, level, cls)))
        }
      case DescribeColumn => Nothing // ShowDescribe decides (removed: denied; masked: no statistics)
      case DatabaseMetadata =>
        val db = firstField(plan, "namespace", "databaseName").flatMap(namespaceOf)
          .getOrElse(refuse(s"run $cls: lakegate cannot tell which database it describes"))
        Needs(Seq(AuthObject(database = db, action = Action.Show)))
    }
  }

  /** Locations an ALTER sets: SET LOCATION, partitions added with a LOCATION. */
  private def alterLocations(plan: LogicalPlan): Seq[String] = {
    val direct = optString(field(plan, "location")).toSeq
    val partitions = firstField(plan, "partitionSpecsAndLocs", "parts").collect { case s: Seq[_] => s }.toSeq.flatten.flatMap {
      case (_, Some(l: String)) => Seq(l)
      case p: AnyRef => optString(field(p, "location")).toSeq
      case _ => Nil
    }
    (direct ++ partitions).distinct
  }

  private def writeNeeds(plan: LogicalPlan, cls: String, ctx: Context): Needs = {
    def action(overwrite: Boolean) = if (overwrite) Action.All else Action.Insert
    def onTable(x: Option[AnyRef], overwrite: Boolean, tgt: Boolean): Needs = {
      val a = action(overwrite)
      val o = x.flatMap(target(_, a, ctx.currentDb, ctx.isTemp))
        .getOrElse(refuse(s"run $cls: lakegate cannot tell which table it writes"))
      Needs(Seq(o.copy(columns = Nil, location = "", action = a)), if (tgt) x.collect { case p: LogicalPlan => p }.toSeq else Nil)
    }
    cls match {
      case "InsertIntoStatement" =>
        onTable(field(plan, "table"), field(plan, "overwrite").contains(true), tgt = true)
      case "AppendData" => onTable(field(plan, "table"), overwrite = false, tgt = true)
      case "InsertIntoHadoopFsRelationCommand" =>
        val overwrite = overwriteMode(field(plan, "mode"))
        field(plan, "catalogTable").collect { case Some(ct: CatalogTable) => ct } match {
          case Some(ct) => onTable(Some(ct), overwrite, tgt = false)
          case scala.None =>
            val p = field(plan, "outputPath").getOrElse(refuse(s"run $cls: lakegate cannot tell where it writes"))
            Needs(Seq(AuthObject(uri = normalizeUri(p.toString), action = action(overwrite))))
        }
      case "InsertIntoDataSourceCommand" =>
        onTable(field(plan, "logicalRelation"), field(plan, "overwrite").contains(true), tgt = false)
      case "InsertIntoHiveTable" => onTable(field(plan, "table"), field(plan, "overwrite").contains(true), tgt = false)
      case "SaveIntoDataSourceCommand" =>
        val path = field(plan, "options").collect { case m: Map[_, _] => m }
          .flatMap(_.collectFirst { case (k, v) if k.toString.equalsIgnoreCase("path") => v.toString })
          .getOrElse(refuse(s"write to the data source ${field(plan, "dataSource").map(_.getClass.getName).getOrElse("?")}: " +
            "lakegate governs tables and paths only"))
        Needs(Seq(AuthObject(uri = normalizeUri(path), action = action(overwriteMode(field(plan, "mode"))))))
      case "WriteIntoDelta" =>
        val overwrite = overwriteMode(field(plan, "mode"))
        field(plan, "catalogTableOpt").collect { case Some(ct: CatalogTable) => ct } match {
          case Some(ct) => onTable(Some(ct), overwrite, tgt = false)
          case scala.None =>
            val p = field(plan, "deltaLog").flatMap(l => field(l, "dataPath"))
              .getOrElse(refuse(s"run $cls: lakegate cannot tell where it writes"))
            Needs(Seq(AuthObject(uri = normalizeUri(p.toString), action = action(overwrite))))
        }
      case "WriteToStream" | "WriteToStreamStatement" =>
        field(plan, "catalogTable").collect { case Some(ct: CatalogTable) => ct } match {
          case Some(ct) => onTable(Some(ct), overwrite = false, tgt = false)
          case scala.None => streamSinkNeeds(plan, ctx)
        }
      case other => refuse(s"run $other: lakegate does not know what it writes")
    }
  }

  /** Streaming sinks without a table: a path (INSERT on the URI), or a sink that keeps no governed data. */
  private val DataFreeSinks = Set("MemorySink", "ForeachBatchSink", "ConsoleTable$", "ForeachWriterTable", "NoopTable$",
    "MemorySinkV2", "ConsoleSinkProvider")

  private def streamSinkNeeds(plan: LogicalPlan, ctx: Context): Needs = {
    val sink = field(plan, "sink").getOrElse(refuse("start a stream: lakegate cannot tell where it writes"))
    val name = sink.getClass.getSimpleName
    val path = field(sink, "path").map(_.toString).orElse(firstField(sink, "options").collect { case m: Map[_, _] => m }
      .flatMap(_.collectFirst { case (k, v) if k.toString.equalsIgnoreCase("path") => v.toString }))
    path match {
      case Some(p) => Needs(Seq(AuthObject(uri = normalizeUri(p), action = Action.Insert)))
      case scala.None if DataFreeSinks.contains(name) => Nothing
      case scala.None => refuse(s"start a stream into the sink ${sink.getClass.getName}: lakegate governs tables and paths only")
    }
  }
}
