package io.lakegate.spark.rule.inventory

import java.lang.reflect.Modifier
import java.util.jar.JarFile

import scala.collection.JavaConverters._
import scala.collection.mutable.ArrayBuffer

import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan

/**
 * Default deny, by inventory: every logical plan class of Spark 3.5, Spark 4.0 and Delta Lake that
 * can reach the analyzer is classified here, as data. The authorization rule looks each node of a
 * plan up by its class name; a class that is not in this table is refused, with a message naming it.
 * A new Spark or Delta release therefore fails closed until its new classes are classified (the
 * test `Inventory.unclassified` over the jars of each line says which).
 */
sealed trait Spec
object Spec {
  /** A node whose data comes only from its children (Project, Join, …). */
  case object Operator extends Spec
  /** A leaf holding no governed data (literals, ranges, rows the user computed). */
  case object NoData extends Spec
  /** A leaf naming an object for the command above it; the command's spec decides. */
  case object Operand extends Spec
  /** A leaf that reads data: governed by what Relations says it reads. */
  case object Relation extends Spec
  /** lakegate's own nodes, Spark's analysis helpers and run-time forms of authorized plans. */
  case object Internal extends Spec
  /** A command, with what it needs. */
  final case class Cmd(kind: CommandKind) extends Spec
  /** Never allowed on a governed cluster. */
  final case class Refused(why: String) extends Spec
}

/** What a command needs from the planner (see Commands). */
sealed trait CommandKind
object CommandKind {
  /** Touches no governed object (SET, USE, SHOW FUNCTIONS, …). */
  case object Harmless extends CommandKind
  /** Runs its own query later, which is analysed (and authorized) on its own (EXPLAIN, …). */
  case object Wrapper extends CommandKind
  /** Lists objects: filtered to what the user may see (ShowDescribe). */
  case object Listing extends CommandKind
  /** INSERT or overwrite, by the command's own flag or save mode: INSERT to append, ALL to replace rows. */
  case object Write extends CommandKind
  /** Changes or removes existing rows (UPDATE, DELETE, MERGE, TRUNCATE, OVERWRITE): ALL on the table. */
  case object Destroy extends CommandKind
  /** Writes files to a directory (INSERT OVERWRITE DIRECTORY): ALL on the URI. */
  case object WriteDirectory extends CommandKind
  /** CREATE TABLE: CREATE on the database, ALL on its location if one is given. */
  case object Create extends CommandKind
  /** CREATE TABLE … AS SELECT / REPLACE: as Create, and runs in a command scope (CommandScope). */
  case object CreateAsSelect extends CommandKind
  /** CREATE VIEW (permanent): CREATE on the database; the planner records the view and its definer. */
  case object CreateView extends CommandKind
  /** ALTER VIEW … AS: ALTER on the view; the planner records the new definition. */
  case object AlterView extends CommandKind
  case object CreateDatabase extends CommandKind
  case object Drop extends CommandKind
  case object DropDatabase extends CommandKind
  /** ALTER on the table (and ALL on a new location, partition location or SET LOCATION). */
  case object Alter extends CommandKind
  case object AlterDatabase extends CommandKind
  /** Reads metadata of one table: SELECT decided, at the level given. */
  final case class Metadata(level: MetaLevel) extends CommandKind
  /** DESCRIBE of one column (removed: denied; masked: no statistics). */
  case object DescribeColumn extends CommandKind
  /** Metadata of a database: SHOW on it. */
  case object DatabaseMetadata extends CommandKind
  /** Loads JVM code (ADD JAR, CREATE FUNCTION): refused unless spark.lakegate.allowJvmCalls. */
  case object JvmCode extends CommandKind
}

/** How much of a table's data its metadata gives away. */
sealed trait MetaLevel
object MetaLevel {
  /** Allowed to read the table at all (DESCRIBE DETAIL, SHOW TBLPROPERTIES). */
  case object Readable extends MetaLevel
  /** Allowed, and no column is removed (SHOW CREATE TABLE lists every column). */
  case object AllColumns extends MetaLevel
  /** Allowed, no column removed or masked, no row filter (SHOW PARTITIONS, DESCRIBE HISTORY, CDF). */
  case object Unrestricted extends MetaLevel
}

object Inventory {
  import CommandKind._
  import Spec._

  private val S = "org.apache.spark.sql."
  private def in(pkg: String, spec: Spec, names: String*): Seq[(String, Spec)] = names.map(n => (pkg + n) -> spec)

  private val logical = S + "catalyst.plans.logical."
  private val analysis = S + "catalyst.analysis."
  private val command = S + "execution.command."
  private val datasources = S + "execution.datasources."
  private val v2 = S + "execution.datasources.v2."
  private val delta = S + "delta."
  private val deltaCommands = S + "delta.commands."

  private val JvmWhy = "it runs code other than SQL"
  private val ScriptingWhy = "SQL scripting, procedures and SQL functions are not governed yet"

  /** The table: fully qualified class name -> spec. */
  val Table: Map[String, Spec] = Seq(
    // ---- operators: data only from children ----
    in(logical, Operator, "Aggregate", "AppendColumns", "AppendColumnsWithObject", "ArrowEvalPython",
      "ArrowEvalPythonUDTF", "AsOfJoin", "AttachDistributedSequence", "BatchEvalPython", "BatchEvalPythonUDTF",
      "CTERelationDef", "CoGroup", "CollectMetrics", "DataFrameDropColumns", "Deduplicate",
      "DeduplicateWithinWatermark", "DeserializeToObject", "Distinct", "DomainJoin", "EventTimeWatermark", "Except",
      "Expand", "Filter", "FlatMapCoGroupsInArrow", "FlatMapCoGroupsInPandas", "FlatMapGroupsInArrow",
      "FlatMapGroupsInPandas", "FlatMapGroupsInPandasWithState", "FlatMapGroupsInR", "FlatMapGroupsInRWithArrow",
      "FlatMapGroupsWithState", "Generate", "GlobalLimit", "Intersect", "Join", "LateralJoin", "LocalLimit",
      "MapElements", "MapGroups", "MapInArrow", "MapInPandas", "MapPartitions", "MapPartitionsInR",
      "MapPartitionsInRWithArrow", "MergeRows", "Offset", "Pivot", "Project", "PythonMapInArrow", "RebalancePartitions",
      "Repartition", "RepartitionByExpression", "ResolvedHint", "ReturnAnswer", "Sample", "SerializeFromObject", "Sort",
      "Subquery", "SubqueryAlias", "Tail", "TransformWithState", "TransformWithStateInPandas", "Transpose", "TypedFilter",
      "Union", "UnionLoop", "Unpivot", "UnresolvedHint", "UnresolvedWith", "UpdateEventTimeWatermarkColumn", "View",
      "Window", "WindowGroupLimit", "WithCTE", "WithWindowDefinition"),
    in(S + "catalyst.optimizer.", Operator, "OrderedJoin"),
    in(analysis, Operator, "NameParameterizedQuery", "PosParameterizedQuery", "PlanWithUnresolvedIdentifier",
      "UnresolvedHaving", "UnresolvedSubqueryColumnAliases", "UnresolvedTVFAliases", "UnresolvedTranspose"),
    in(S + "catalyst.expressions.", Operator, "PipeOperator"),
    in(datasources, Operator, "WriteFiles"),
    in(delta + "constraints.", Operator, "DeltaInvariantChecker"),

    // ---- leaves without governed data ----
    in(logical, NoData, "LocalRelation", "OneRowRelation", "Range", "EmptyRelation", "UnionLoopRef", "CTERelationRef"),
    in(analysis, NoData, "ResolvedInlineTable", "UnresolvedInlineTable"),
    // Rows the user's own code produced (createDataFrame, df.rdd round trips, foreachBatch's batch):
    // any governed data in them was authorized when it was read. sc.textFile & co. are not governed
    // by the plan (docs/security.md).
    in(S + "execution.", NoData, "LogicalRDD", "ExternalRDD"),
    in(S + "execution.streaming.sources.", NoData, "MemoryPlan"),

    // ---- operands of commands ----
    in(analysis, Operand, "ResolvedIdentifier", "ResolvedNamespace", "ResolvedNonPersistentFunc",
      "ResolvedPersistentFunc", "ResolvedPersistentView", "ResolvedTable", "ResolvedTempView", "UnresolvedFunctionName",
      "UnresolvedIdentifier", "UnresolvedNamespace", "UnresolvedTable", "UnresolvedTableOrView", "UnresolvedView",
      "CurrentNamespace$", "UnresolvedRelation", "UnresolvedTableValuedFunction", "RelationTimeTravel",
      "ExecuteImmediateQuery"),
    in(logical, Operand, "UnresolvedDataSource"),
    in(S + "catalyst.", Operand, "TimeTravel"),
    in(S + "catalyst.catalog.", Operand, "UnresolvedCatalogRelation", "TemporaryViewRelation"),
    in(delta, Operand, "UnresolvedPathBasedDeltaTable", "UnresolvedPathBasedDeltaTableRelation",
      "UnresolvedPathBasedTable", "ResolvedPathBasedNonDeltaTable", "TableChanges", "CDCNameBased", "CDCPathBased"),

    // ---- relations: governed leaves ----
    in(S + "catalyst.catalog.", Relation, "HiveTableRelation"),
    in(datasources, Relation, "LogicalRelation"),
    in(v2, Relation, "DataSourceV2Relation", "DataSourceV2ScanRelation"),
    in(S + "execution.streaming.", Relation, "StreamingRelation"),
    in(S + "catalyst.streaming.", Relation, "StreamingRelationV2"),

    // ---- run-time forms of plans that were authorized when analysed ----
    // (a cached plan's data, an adaptive stage, a streaming source once its query started)
    in(S + "execution.columnar.", Internal, "InMemoryRelation"),
    in(S + "execution.adaptive.", Internal, "LogicalQueryStage"),
    in(S + "execution.streaming.", Internal, "StreamingExecutionRelation", "OffsetHolder"),
    in(v2, Internal, "StreamingDataSourceV2Relation", "StreamingDataSourceV2ScanRelation", "ScanBuilderHolder"),
    in(S + "catalyst.encoders.", Internal, "DummyExpressionHolder"),
    in(delta + "constraints.", Internal, "ExpressionLogicalPlanWrapper"),
    in(delta + "util.", Internal, "AnalysisHelper$FakeLogicalPlan"),
    in(delta + "skipping.clustering.temp.", Internal, "ClusterByPlan"),
    in(logical, Internal, "CommandResult"),
    in(S + "execution.", Internal, "CommandResult"),

    // ---- streaming sinks: the write is authorized where the query starts ----
    in(S + "catalyst.streaming.", Cmd(Write), "WriteToStream", "WriteToStreamStatement"),
    in(v2, Internal, "WriteToDataSourceV2"),
    in(S + "execution.streaming.sources.", Internal, "WriteToMicroBatchDataSource", "WriteToMicroBatchDataSourceV1"),
    in(S + "execution.streaming.continuous.", Internal, "WriteToContinuousDataSource"),

    // ---- commands that touch no governed object ----
    in(logical, Cmd(Harmless), "NoopCommand", "SetCatalogAndNamespace", "ShowFunctions", "DescribeFunction",
      "RefreshFunction", "UncacheTable", "CreateVariable", "DropVariable", "SetVariable", "RefreshTable"),
    in(command, Cmd(Harmless), "SetCommand", "ResetCommand", "SetCatalogCommand", "SetNamespaceCommand",
      "ShowCatalogsCommand", "ShowCurrentNamespaceCommand", "ShowFunctionsCommand", "DescribeFunctionCommand",
      "ListJarsCommand", "ListFilesCommand", "ListArchivesCommand", "RefreshFunctionCommand", "RefreshTableCommand",
      "ClearCacheCommand$", "DropTempViewCommand"),
    in(datasources, Cmd(Harmless), "RefreshResource", "CreateTempViewUsing"),
    // ---- commands whose query is analysed (and authorized) when they run ----
    in(command, Cmd(Wrapper), "ExplainCommand", "StreamingExplainCommand", "DescribeQueryCommand"),
    in(logical, Cmd(Wrapper), "CacheTable", "CacheTableAsSelect"),

    // ---- listings ----
    in(logical, Cmd(Listing), "ShowNamespaces", "ShowTables", "ShowTableExtended", "ShowTablesExtended", "ShowViews"),
    in(command, Cmd(Listing), "ShowTablesCommand", "ShowViewsCommand"),

    // ---- writes ----
    in(logical, Cmd(Write), "InsertIntoStatement", "AppendData"),
    in(datasources, Cmd(Write), "InsertIntoHadoopFsRelationCommand", "InsertIntoDataSourceCommand",
      "SaveIntoDataSourceCommand"),
    in(S + "hive.execution.", Cmd(Write), "InsertIntoHiveTable"),
    in(deltaCommands, Cmd(Write), "WriteIntoDelta"),
    in(delta, Cmd(Destroy), "DeltaDynamicPartitionOverwriteCommand"),
    in(logical, Cmd(Destroy), "OverwriteByExpression", "OverwritePartitionsDynamic", "ReplaceData", "WriteDelta",
      "UpdateTable", "DeleteFromTable", "DeleteFromTableWithFilters", "MergeIntoTable", "DeltaMergeInto",
      "DeltaUpdateTable", "DeltaDelete", "TruncateTable", "TruncatePartition", "RestoreTableStatement"),
    in(command, Cmd(Destroy), "TruncateTableCommand"),
    in(deltaCommands, Cmd(Destroy), "MergeIntoCommand", "UpdateCommand", "DeleteCommand", "RestoreTableCommand",
      "OptimizeTableCommand", "DeltaReorgTableCommand", "DeltaReorgTable"),
    in(deltaCommands + "backfill.", Cmd(Destroy), "RowTrackingBackfillCommand"),
    in("io.delta.tables.execution.", Cmd(Destroy), "VacuumTableCommand"),
    in(logical, Cmd(WriteDirectory), "InsertIntoDir"),
    in(command, Cmd(WriteDirectory), "InsertIntoDataSourceDirCommand"),
    in(S + "hive.execution.", Cmd(WriteDirectory), "InsertIntoHiveDirCommand"),

    // ---- CREATE ----
    in(logical, Cmd(Create), "CreateTable", "ReplaceTable"),
    in(datasources, Cmd(Create), "CreateTable"),
    in(command, Cmd(Create), "CreateTableCommand", "CreateDataSourceTableCommand", "CreateTableLikeCommand"),
    in(deltaCommands, Cmd(Create), "CreateDeltaTableCommand"),
    in(logical, Cmd(CreateAsSelect), "CreateTableAsSelect", "ReplaceTableAsSelect"),
    in(command, Cmd(CreateAsSelect), "CreateDataSourceTableAsSelectCommand"),
    in(S + "hive.execution.", Cmd(CreateAsSelect), "CreateHiveTableAsSelectCommand", "OptimizedCreateHiveTableAsSelectCommand"),
    in(logical, Cmd(CreateView), "CreateView"),
    in(command, Cmd(CreateView), "CreateViewCommand"),
    in(logical, Cmd(AlterView), "AlterViewAs"),
    in(command, Cmd(AlterView), "AlterViewAsCommand"),
    in(logical, Cmd(CreateDatabase), "CreateNamespace"),
    in(command, Cmd(CreateDatabase), "CreateDatabaseCommand"),

    // ---- DROP ----
    in(logical, Cmd(Drop), "DropTable", "DropView"),
    in(command, Cmd(Drop), "DropTableCommand"),
    in(logical, Cmd(DropDatabase), "DropNamespace"),
    in(command, Cmd(DropDatabase), "DropDatabaseCommand"),

    // ---- ALTER ----
    in(logical, Cmd(Alter), "AddColumns", "AddPartitions", "AlterColumn", "AlterColumns", "AlterColumnSyncIdentity",
      "AlterTableAddConstraint", "AlterTableClusterBy", "AlterTableCollation", "AlterTableDropConstraint",
      "AlterTableDropFeature", "AlterViewSchemaBinding", "AnalyzeColumn", "AnalyzeTable", "CommentOnTable", "DropColumns",
      "DropPartitions", "RecoverPartitions", "RenameColumn", "RenamePartitions", "RenameTable", "RepairTable",
      "ReplaceColumns", "SetTableLocation", "SetTableProperties", "SetTableSerDeProperties", "SetViewProperties",
      "UnsetTableProperties", "UnsetViewProperties"),
    in(command, Cmd(Alter), "AlterTableAddColumnsCommand", "AlterTableAddPartitionCommand",
      "AlterTableChangeColumnCommand", "AlterTableDropPartitionCommand", "AlterTableRenameCommand",
      "AlterTableRenamePartitionCommand", "AlterTableSerDePropertiesCommand", "AlterTableSetLocationCommand",
      "AlterTableSetPropertiesCommand", "AlterTableUnsetPropertiesCommand", "AlterViewSchemaBindingCommand",
      "AnalyzeColumnCommand", "AnalyzePartitionCommand", "AnalyzeTableCommand", "RepairTableCommand"),
    in(deltaCommands, Cmd(Alter), "AlterTableAddColumnsDeltaCommand", "AlterTableAddConstraintDeltaCommand",
      "AlterTableChangeColumnDeltaCommand", "AlterTableClusterByDeltaCommand", "AlterTableDropColumnsDeltaCommand",
      "AlterTableDropConstraintDeltaCommand", "AlterTableDropFeatureDeltaCommand", "AlterTableReplaceColumnsDeltaCommand",
      "AlterTableSetLocationDeltaCommand", "AlterTableSetPropertiesDeltaCommand", "AlterTableUnsetPropertiesDeltaCommand",
      "DeltaGenerateCommand"),
    in(delta + "skipping.clustering.temp.", Cmd(Alter), "AlterTableClusterBy"),
    in(logical, Cmd(AlterDatabase), "CommentOnNamespace", "SetNamespaceLocation", "SetNamespaceProperties",
      "AnalyzeTables"),
    in(command, Cmd(AlterDatabase), "AlterDatabasePropertiesCommand", "AlterDatabaseSetLocationCommand",
      "UnsetNamespacePropertiesCommand", "AnalyzeTablesCommand"),

    // ---- metadata of a table ----
    in(logical, Cmd(Metadata(MetaLevel.Readable)), "DescribeRelation", "ShowColumns", "ShowTableProperties"),
    in(command, Cmd(Metadata(MetaLevel.Readable)), "DescribeTableCommand", "ShowColumnsCommand",
      "ShowTablePropertiesCommand", "DescribeRelationJsonCommand"),
    in(deltaCommands, Cmd(Metadata(MetaLevel.Readable)), "DescribeDeltaDetailCommand", "ShowDeltaTableColumnsCommand"),
    in(logical, Cmd(Metadata(MetaLevel.AllColumns)), "ShowCreateTable"),
    in(command, Cmd(Metadata(MetaLevel.AllColumns)), "ShowCreateTableCommand", "ShowCreateTableAsSerdeCommand"),
    in(logical, Cmd(Metadata(MetaLevel.Unrestricted)), "ShowPartitions", "ShowTablePartition"),
    in(command, Cmd(Metadata(MetaLevel.Unrestricted)), "ShowPartitionsCommand"),
    in(deltaCommands, Cmd(Metadata(MetaLevel.Unrestricted)), "DescribeDeltaHistory", "DescribeDeltaHistoryCommand"),
    in(logical, Cmd(DescribeColumn), "DescribeColumn"),
    in(command, Cmd(DescribeColumn), "DescribeColumnCommand"),
    in(logical, Cmd(DatabaseMetadata), "DescribeNamespace"),
    in(command, Cmd(DatabaseMetadata), "DescribeDatabaseCommand"),

    // ---- code ----
    in(logical, Cmd(JvmCode), "CreateFunction", "DropFunction"),
    in(command, Cmd(JvmCode), "CreateFunctionCommand", "DropFunctionCommand", "AddJarsCommand", "AddArchivesCommand",
      "AddFilesCommand"),
    in(logical, Refused("TRANSFORM … USING runs a program on the executors, outside any policy"), "ScriptTransformation"),
    in(command, Refused("it runs a command of a data source outside any policy"), "ExternalCommandExecutor"),
    in(logical, Refused("lakegate does not support indexes"), "CreateIndex", "DropIndex"),
    in(logical, Refused(ScriptingWhy), "Call", "CompoundBody", "ErrorCondition", "ExceptionHandler", "ForStatement",
      "IfElseStatement", "IterateStatement", "LeaveStatement", "LoopStatement", "RepeatStatement", "SearchedCaseStatement",
      "SimpleCaseStatement", "SingleStatement", "WhileStatement", "MultiResult", "CreateUserDefinedFunction",
      "SQLFunctionNode"),
    in(analysis, Refused(ScriptingWhy), "ResolvedProcedure", "UnresolvedProcedure", "SQLFunctionNode", "SQLTableFunction"),
    in(command, Refused(ScriptingWhy), "CreateSQLFunctionCommand"),
    in(logical, Refused("CLONE copies a table's files without the policy; use CREATE TABLE … AS SELECT"),
      "CloneTableStatement"),
    in(deltaCommands, Refused("CLONE copies a table's files without the policy; use CREATE TABLE … AS SELECT"),
      "CloneTableCommand"),
    in(deltaCommands, Refused("CONVERT TO DELTA rewrites a location's metadata outside any policy; ask an administrator"),
      "ConvertToDeltaCommand"),
    in(logical, Refused("LOAD DATA moves files that lakegate cannot check into a table; use INSERT … SELECT"), "LoadData"),
    in(command, Refused("LOAD DATA moves files that lakegate cannot check into a table; use INSERT … SELECT"),
      "LoadDataCommand"),

    // ---- lakegate's own ----
    in("io.lakegate.spark.plan.", Internal, "LakegateGate", "LakegateSecured", "LakegateWhoAmI"),
    in("io.lakegate.spark.rule.command.", Internal, "ScopedCommand")
  ).flatten.toMap

  /** Is p a governed leaf that reads data (a Relation of the table above, by its exact class)? */
  def isRelation(p: LogicalPlan): Boolean = Table.get(p.getClass.getName).contains(Relation)

  /** The spec of a node, extra classes an administrator trusts (spark.lakegate.trustedPlanClasses) included. */
  def specOf(p: LogicalPlan, trusted: Set[String]): Option[Spec] = {
    val name = p.getClass.getName
    Table.get(name).orElse(if (trusted.contains(name)) Some(if (p.children.isEmpty) NoData else Operator) else None)
  }

  /**
   * The concrete LogicalPlan classes in the given jars (Spark's, Delta's) that the inventory does not
   * classify: the list must be empty for a supported Spark line. Called by the end-to-end suite with
   * the jars of the running Spark.
   */
  def unclassified(jars: Array[String]): Array[String] = {
    val loader = Option(Thread.currentThread().getContextClassLoader).getOrElse(getClass.getClassLoader)
    val base = classOf[LogicalPlan]
    val out = ArrayBuffer.empty[String]
    for (path <- jars) {
      val jar = new JarFile(path)
      try {
        for (e <- jar.entries().asScala) {
          val n = e.getName
          if (n.endsWith(".class") && !n.contains("$anon") && !n.startsWith("META-INF")) {
            val cn = n.stripSuffix(".class").replace('/', '.')
            val c = try Some(Class.forName(cn, false, loader)) catch { case _: Throwable => None }
            c.foreach { k =>
              if (base.isAssignableFrom(k) && !k.isInterface && !Modifier.isAbstract(k.getModifiers) &&
                  !Table.contains(cn)) out += cn
            }
          }
        }
      } finally jar.close()
    }
    out.distinct.sorted.toArray
  }
}
