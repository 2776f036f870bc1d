package io.lakegate.spark.client

/** The planner API (proto/lakegate/v1/planner.proto) as the extension uses it. */
/** A privilege an object is asked for; `wire` is its name in the planner API. */
sealed abstract class Action(val wire: String) {
  /** The privilege's name, for messages: SELECT, INSERT, ALL, … */
  def privilege: String = wire.stripPrefix("ACTION_")
  override def toString: String = privilege
}

object Action {
  case object Select extends Action("ACTION_SELECT")
  case object Insert extends Action("ACTION_INSERT")
  case object Create extends Action("ACTION_CREATE")
  case object Alter extends Action("ACTION_ALTER")
  case object Drop extends Action("ACTION_DROP")
  case object Show extends Action("ACTION_SHOW")
  case object All extends Action("ACTION_ALL")
  val all: Seq[Action] = Seq(Select, Insert, Create, Alter, Drop, Show, All)
  def fromWire(s: String): Option[Action] = all.find(_.wire == s)

  /** Does this privilege write (the ones a CREATE … AS SELECT's own scope may cover)? */
  def writes(a: Action): Boolean = a == Insert || a == All
}

final case class Column(name: String, dataType: String)

/** An object a view's definition reads directly (a table, a view, or a path). */
final case class ViewRead(database: String = "", table: String = "", uri: String = "")

/** An object a query touches: a table or view, a database alone, or a URI. */
final case class AuthObject(
    database: String = "",
    table: String = "",
    isView: Boolean = false,
    columns: Seq[Column] = Nil,
    uri: String = "",
    action: Action = Action.Select,
    underView: String = "",
    location: String = "",
    viewReads: Seq[ViewRead] = Nil) {

  def displayName: String =
    if (uri.nonEmpty) uri else if (table.isEmpty) database else s"$database.$table"

  /** A stable key for caching decisions (the location does not change a decision). */
  lazy val cacheKey: String = {
    val sb = new StringBuilder
    sb.append(database).append('\u0000').append(table).append('\u0000').append(isView)
      .append('\u0000').append(uri).append('\u0000').append(action.wire).append('\u0000')
      .append(underView)
    viewReads.foreach(r => sb.append('\u0004').append(r.database).append('.').append(r.table).append('\u0005').append(r.uri))
    columns.foreach(c => sb.append('\u0001').append(c.name).append('\u0002').append(c.dataType))
    sb.toString
  }
}

final case class AuthorizeRequest(
    sessionId: String,
    client: String,
    objects: Seq[AuthObject],
    statement: String = "")

sealed abstract class ColumnAction(val wire: String)
object ColumnAction {
  case object Visible extends ColumnAction("COLUMN_ACTION_VISIBLE")
  case object Masked extends ColumnAction("COLUMN_ACTION_MASKED")
  case object Removed extends ColumnAction("COLUMN_ACTION_REMOVED")
  case object Conditional extends ColumnAction("COLUMN_ACTION_CONDITIONAL")
  val all: Seq[ColumnAction] = Seq(Visible, Masked, Removed, Conditional)
  def fromWire(s: String): Option[ColumnAction] = all.find(_.wire == s)
}

final case class MaskSpec(function: String, args: Seq[String] = Nil)

final case class ColumnCase(condition: String, action: ColumnAction, mask: Option[MaskSpec] = None)

final case class ColumnDecision(
    name: String,
    action: ColumnAction,
    mask: Option[MaskSpec] = None,
    cases: Seq[ColumnCase] = Nil)

final case class ObjectDecision(
    index: Int,
    objectName: String,
    allowed: Boolean,
    reason: String,
    columns: Seq[ColumnDecision] = Nil,
    rowFilter: String = "",
    fullAccess: Boolean = false,
    whoami: Boolean = false) {

  /** Nothing to apply: every column visible and no row filter. */
  def unrestricted: Boolean =
    allowed && !whoami && rowFilter.isEmpty && columns.forall(_.action == ColumnAction.Visible)

  /** A fingerprint of what the decision does to the data (not of its reason). */
  lazy val effect: String =
    (allowed, whoami, rowFilter, columns.map(c => (c.name.toLowerCase(java.util.Locale.ROOT), c.action.wire,
      c.mask, c.cases))).toString
}

final case class AuthorizeResponse(
    decisions: Seq[ObjectDecision],
    policyVersion: Long,
    user: String,
    requestId: String)
