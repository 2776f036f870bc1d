package io.lakegate.spark.rule.command

import scala.util.Try

import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.catalyst.analysis.{UnresolvedAttribute, UnresolvedRelation}
import org.apache.spark.sql.catalyst.expressions.{Attribute, Expression, In, Literal, Lower, Not, Or}
import org.apache.spark.sql.catalyst.plans.logical.{Filter, LogicalPlan, SubqueryAlias, View}
import org.apache.spark.sql.types.StringType
import org.apache.spark.sql.lakegate.SessionAccess

import io.lakegate.spark.{Guard, LakegateErrors, LakegateRuntime, SparkShim}
import io.lakegate.spark.auth.Identity
import io.lakegate.spark.client.{Action, AuthObject, ColumnAction}
import io.lakegate.spark.rule.collect.Relations
import io.lakegate.spark.rule.collect.Relations.lower

/**
 * SHOW DATABASES / SHOW TABLES / SHOW VIEWS list only what the user may see (the planner's SHOW
 * decision for every listed object, in one request); DESCRIBE and SHOW COLUMNS list only the
 * columns the user may read; DESCRIBE of a removed column fails. Done by a Filter over the
 * command's output, which Spark applies to the command's rows.
 */
object ShowDescribe {
  private def field(o: AnyRef, name: String): Option[AnyRef] =
    Try(o.getClass.getMethod(name).invoke(o)).toOption.flatMap(Option(_))

  private def strings(values: Seq[String]): Seq[Expression] = values.map(v => Literal(v))

  private def attr(plan: LogicalPlan, names: String*): Option[Attribute] =
    plan.output.find(a => names.exists(_.equalsIgnoreCase(a.name)))

  private def patternOf(plan: LogicalPlan): String =
    Seq("pattern", "tableIdentifierPattern").iterator.map(field(plan, _)).collectFirst {
      case Some(Some(p: String)) => p
      case Some(p: String) => p
    }.getOrElse("*")

  private def namespaceOf(plan: LogicalPlan, currentDb: String): String = {
    val ns = field(plan, "namespace").orElse(field(plan, "databaseName"))
    ns match {
      case Some(Some(db: String)) => lower(db)
      case Some(db: String) => lower(db)
      case Some(p: LogicalPlan) =>
        Seq("namespace", "multipartIdentifier").iterator.map(field(p, _)).collectFirst {
          case Some(parts: Seq[_]) if parts.nonEmpty => lower(parts.last.toString)
        }.getOrElse(lower(currentDb))
      case _ => lower(currentDb)
    }
  }

  def wrap(plan: LogicalPlan, session: SparkSession, rt: LakegateRuntime, id: Identity, currentDb: String): LogicalPlan = {
    val catalog = SessionAccess.catalog(session)
    plan.getClass.getSimpleName match {
      case "ShowTables" | "ShowTablesCommand" | "ShowViews" | "ShowViewsCommand" | "ShowTableExtended" | "ShowTablesExtended" =>
        val db = namespaceOf(plan, currentDb)
        val nameAttr = attr(plan, "tableName", "viewName")
        val tempAttr = attr(plan, "isTemporary")
        if (nameAttr.isEmpty) return plan
        val names = Try(catalog.listTables(db, patternOf(plan)).filter(_.database.isDefined).map(t => lower(t.table))).getOrElse(Nil).distinct
        val visible = if (names.isEmpty) Nil else {
          val d = rt.authorizer.authorizeAll(id, names.map(t => AuthObject(database = db, table = t, action = Action.Show)), "SHOW TABLES IN " + db)
          names.zip(d.decisions).filter(_._2.allowed).map(_._1)
        }
        val inVisible: Expression = if (visible.isEmpty) Literal(false) else In(Lower(nameAttr.get), strings(visible))
        Filter(tempAttr.map(t => Or(t, inVisible)).getOrElse(inVisible), plan)
      case "ShowNamespaces" | "ShowDatabasesCommand" =>
        val nsAttr = plan.output.headOption
        if (nsAttr.isEmpty || nsAttr.get.dataType != StringType) return plan
        val dbs = Try(catalog.listDatabases(patternOf(plan)).map(lower)).getOrElse(Nil).distinct
        val visible = if (dbs.isEmpty) Nil else {
          val d = rt.authorizer.authorizeAll(id, dbs.map(db => AuthObject(database = db, action = Action.Show)), "SHOW DATABASES")
          dbs.zip(d.decisions).filter(_._2.allowed).map(_._1)
        }
        Filter(if (visible.isEmpty) Literal(false) else In(Lower(nsAttr.get), strings(visible)), plan)
      case "DescribeRelation" | "DescribeTableCommand" | "ShowColumns" | "ShowColumnsCommand" =>
        val colAttr = attr(plan, "col_name")
        val removed = removedColumns(plan, session, rt, id, currentDb)
        if (removed.isEmpty || colAttr.isEmpty) plan
        else Filter(Not(In(Lower(colAttr.get), strings(removed))), plan)
      case "DescribeColumn" | "DescribeColumnCommand" =>
        val (actions, filtered) = describedDecision(plan, session, rt, id, currentDb)
        val removed = actions.collect { case (c, ColumnAction.Removed) => c }
        val col = field(plan, "colNameParts").collect { case s: Seq[_] => s.map(_.toString) }
          .orElse(field(plan, "column").collect {
            case u: UnresolvedAttribute => u.nameParts
            case a: Attribute => Seq(a.name)
          }).flatMap(_.lastOption).map(lower)
        col.filter(removed.contains).foreach { c =>
          throw LakegateErrors.denied(s"user ${id.user} is not authorized to see column $c")
        }
        // Statistics of a masked column (min, max, distinct count, …) would show what the mask
        // hides; under a row filter, any column's statistics describe rows the user may not see.
        val masked = actions.collect { case (c, a) if a != ColumnAction.Visible && a != ColumnAction.Removed => c }.toSet
        val info = attr(plan, "info_name")
        if ((filtered || col.exists(masked.contains)) && info.isDefined) Filter(Not(In(Lower(info.get), strings(StatisticRows))), plan)
        else plan
      case _ => plan
    }
  }

  /** DESCRIBE EXTENDED t col rows that carry statistics of the column's values. */
  private val StatisticRows = Seq("min", "max", "num_nulls", "distinct_count", "avg_col_len", "max_col_len", "histogram")

  /** Lower-case names of the columns of the described table that the user may not read. */
  private def removedColumns(plan: LogicalPlan, session: SparkSession, rt: LakegateRuntime, id: Identity,
      currentDb: String): Seq[String] =
    describedDecision(plan, session, rt, id, currentDb)._1.collect { case (c, ColumnAction.Removed) => c }

  /**
   * (lower-case column name, action) for every column of the described table, for this user, and
   * whether a row filter applies.
   */
  private def describedDecision(plan: LogicalPlan, session: SparkSession, rt: LakegateRuntime, id: Identity,
      currentDb: String): (Seq[(String, ColumnAction)], Boolean) = {
    val isTemp: Seq[String] => Boolean = parts => parts.size == 1 && Try(SessionAccess.catalog(session).isTempView(parts)).getOrElse(false)
    val target = Seq("relation", "table", "child", "tableName").iterator.map(field(plan, _)).collectFirst {
      case Some(x) => x
    }
    val named: Option[AuthObject] = plan.getClass.getSimpleName match {
      case "ShowColumnsCommand" =>
        val t = field(plan, "tableName").collect { case t: org.apache.spark.sql.catalyst.TableIdentifier => t }
        val db = field(plan, "databaseName").collect { case Some(d: String) => d }
        t.flatMap(ti => Commands.target(ti.copy(database = db.orElse(ti.database)), Action.Select, currentDb, isTemp))
      case _ => target.flatMap(Commands.target(_, Action.Select, currentDb, isTemp))
    }
    named.flatMap(o => io.lakegate.spark.rule.collect.Lookup.resolveForSelect(session, o, currentDb)) match {
      case Some(full) =>
        val d = rt.authorizer.authorize(id, Seq(full), "DESCRIBE " + full.displayName).decisions.head
        (full.columns.zip(d.columns).map { case (c, cd) => lower(c.name) -> cd.action }, d.rowFilter.nonEmpty)
      case _ => (Nil, false)
    }
  }
}
