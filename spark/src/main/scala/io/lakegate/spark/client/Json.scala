package io.lakegate.spark.client

import com.fasterxml.jackson.databind.{JsonNode, ObjectMapper}
import com.fasterxml.jackson.databind.node.{ArrayNode, ObjectNode}

import scala.collection.JavaConverters._

/**
 * The Connect JSON form of the messages (protojson: lowerCamelCase names, enums as strings,
 * int64 as strings or numbers, default values omitted). Answers are checked strictly: an unknown
 * enum or a field of the wrong kind is a malformed answer, and the query fails closed.
 */
object Json {
  val mapper = new ObjectMapper()

  final class MalformedAnswer(message: String) extends Exception(message)

  def authorizeRequest(r: AuthorizeRequest): String = {
    val root = mapper.createObjectNode()
    if (r.sessionId.nonEmpty) root.put("sessionId", r.sessionId)
    if (r.client.nonEmpty) root.put("client", r.client)
    root.put("action", Action.Select.wire)
    val objs = root.putArray("objects")
    r.objects.foreach(o => objs.add(authObject(o)))
    if (r.statement.nonEmpty) root.put("statement", r.statement)
    mapper.writeValueAsString(root)
  }

  def authObject(o: AuthObject): ObjectNode = {
    val n = mapper.createObjectNode()
    if (o.database.nonEmpty) n.put("database", o.database)
    if (o.table.nonEmpty) n.put("table", o.table)
    if (o.isView) n.put("isView", true)
    if (o.columns.nonEmpty) {
      val cols = n.putArray("columns")
      o.columns.foreach { c =>
        val cn = cols.addObject()
        cn.put("name", c.name)
        cn.put("type", c.dataType)
      }
    }
    if (o.uri.nonEmpty) n.put("uri", o.uri)
    if (o.action != Action.Select) n.put("action", o.action.wire)
    if (o.underView.nonEmpty) n.put("underView", o.underView)
    if (o.location.nonEmpty) n.put("location", o.location)
    if (o.viewReads.nonEmpty) {
      val reads = n.putArray("viewReads")
      o.viewReads.foreach { r =>
        val rn = reads.addObject()
        if (r.database.nonEmpty) rn.put("database", r.database)
        if (r.table.nonEmpty) rn.put("table", r.table)
        if (r.uri.nonEmpty) rn.put("uri", r.uri)
      }
    }
    n
  }

  private def fail(what: String): Nothing = throw new MalformedAnswer(what)

  private def obj(n: JsonNode, what: String): JsonNode =
    if (n == null || n.isNull) mapper.createObjectNode()
    else if (n.isObject) n
    else fail(s"$what is not a JSON object")

  private def str(n: JsonNode, field: String): String = {
    val v = n.get(field)
    if (v == null || v.isNull) "" else if (v.isTextual) v.asText else fail(s"'$field' is not a string")
  }

  private def bool(n: JsonNode, field: String): Boolean = {
    val v = n.get(field)
    if (v == null || v.isNull) false else if (v.isBoolean) v.booleanValue else fail(s"'$field' is not a boolean")
  }

  private def long(n: JsonNode, field: String): Long = {
    val v = n.get(field)
    if (v == null || v.isNull) 0L
    else if (v.isIntegralNumber && v.canConvertToLong) v.longValue
    else if (v.isTextual) try v.asText.toLong catch { case _: NumberFormatException => fail(s"'$field' is not an integer") }
    else fail(s"'$field' is not an integer")
  }

  private def arr(n: JsonNode, field: String): Seq[JsonNode] = {
    val v = n.get(field)
    if (v == null || v.isNull) Nil
    else if (v.isArray) v.asInstanceOf[ArrayNode].elements().asScala.toList
    else fail(s"'$field' is not an array")
  }

  private def columnAction(n: JsonNode, field: String, where: String): ColumnAction = {
    val s = str(n, field)
    ColumnAction.fromWire(s).getOrElse {
      if (s.isEmpty) fail(s"$where has no column action")
      else fail(s"$where has the unknown column action '$s' (is the planner newer than this extension?)")
    }
  }

  private def mask(n: JsonNode, where: String): Option[MaskSpec] = {
    val m = n.get("mask")
    if (m == null || m.isNull) None
    else {
      val o = obj(m, s"the mask of $where")
      val fn = str(o, "function")
      if (fn.isEmpty) fail(s"the mask of $where names no function")
      Some(MaskSpec(fn, arr(o, "args").map(a => if (a.isTextual) a.asText else fail(s"a mask argument of $where is not a string"))))
    }
  }

  def authorizeResponse(body: String): AuthorizeResponse = {
    val root = try mapper.readTree(body) catch {
      case e: Exception => fail("the answer is not JSON: " + e.getMessage.takeWhile(_ != '\n'))
    }
    if (root == null || !root.isObject) fail("the answer is not a JSON object")
    val decisions = arr(root, "decisions").map { d0 =>
      val d = obj(d0, "a decision")
      val name = str(d, "object")
      val cols = arr(d, "columns").map { c0 =>
        val c = obj(c0, "a column decision")
        val cname = str(c, "name")
        val where = s"column '$cname' of $name"
        val action = columnAction(c, "action", where)
        val cases = arr(c, "cases").map { k0 =>
          val k = obj(k0, "a column case")
          val a = columnAction(k, "action", s"a case of $where")
          if (a != ColumnAction.Visible && a != ColumnAction.Masked) fail(s"a case of $where has the action ${a.wire}")
          val m = mask(k, s"a case of $where")
          if (a == ColumnAction.Masked && m.isEmpty) fail(s"a masked case of $where has no mask")
          ColumnCase(str(k, "condition"), a, m)
        }
        val m = mask(c, where)
        if (action == ColumnAction.Masked && m.isEmpty) fail(s"$where is masked without a mask")
        if (action == ColumnAction.Conditional && cases.isEmpty) fail(s"$where is conditional without cases")
        ColumnDecision(cname, action, m, cases)
      }
      val index = long(d, "index")
      if (index < 0 || index > Int.MaxValue) fail("a decision index is out of range")
      ObjectDecision(index.toInt, name, bool(d, "allowed"), str(d, "reason"), cols, str(d, "rowFilter"),
        bool(d, "fullAccess"), bool(d, "whoami"))
    }
    AuthorizeResponse(decisions, long(root, "policyVersion"), str(root, "user"), str(root, "requestId"))
  }

  /** The message of a Connect error body, {"code": "...", "message": "..."}, if it is one. */
  def connectError(body: String): Option[(String, String)] =
    try {
      val n = mapper.readTree(body)
      if (n != null && n.isObject && (n.has("code") || n.has("message"))) {
        Some((Option(n.get("code")).map(_.asText).getOrElse(""), Option(n.get("message")).map(_.asText).getOrElse("")))
      } else None
    } catch { case _: Exception => None }
}
