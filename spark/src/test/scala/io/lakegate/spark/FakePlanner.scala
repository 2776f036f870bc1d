package io.lakegate.spark

import java.nio.charset.StandardCharsets
import java.util.Base64

import io.lakegate.spark.client._

/**
 * A recorded-answer planner for the rule tests: decisions computed from a small fixed policy,
 * for the user named in the (self-signed) token, as the real planner would send them.
 *
 *  admin: everything.
 *  alice: lg.users: ccn masked with mask_ccn, ssn removed, rows where gender = 'F';
 *         lg.cond: secret shown raw where region = 'EU', masked elsewhere (CONDITIONAL);
 *         lg.v_users (view): everything; lg.secret: denied; INSERT/CREATE/DROP on lg_sandbox;
 *         URI file:///tmp/lakegate-allowed/…
 *  carol: only the view lg.v_users (view-only grant).
 */
object FakePlanner {
  @volatile var policyVersion: Long = 7

  def userOf(token: String): String = {
    val claims = new String(Base64.getUrlDecoder.decode(token.split('.')(1)), StandardCharsets.UTF_8)
    Json.mapper.readTree(claims).get("sub").asText
  }

  private def visible(o: AuthObject): Seq[ColumnDecision] = o.columns.map(c => ColumnDecision(c.name, ColumnAction.Visible))

  private def allow(i: Int, o: AuthObject, reason: String): ObjectDecision =
    ObjectDecision(i, o.displayName, allowed = true, reason, columns = if (o.action == Action.Select && o.table.nonEmpty) visible(o) else Nil,
      fullAccess = true)

  private def deny(i: Int, o: AuthObject, user: String): ObjectDecision =
    ObjectDecision(i, o.displayName, allowed = false,
      s"""user "$user" (groups: none; roles: none) may not ${o.action.privilege} ${o.displayName}: no grant""")

  def decide(user: String, objs: Seq[AuthObject]): Seq[ObjectDecision] = {
    val first = objs.zipWithIndex.map { case (o, i) => if (o.underView.isEmpty) Some(decide1(user, o, i)) else None }
    objs.zipWithIndex.map { case (o, i) =>
      first(i).getOrElse {
        val viewOk = objs.zipWithIndex.exists { case (v, j) =>
          v.isView && v.underView.isEmpty && s"${v.database}.${v.table}" == o.underView && first(j).exists(_.allowed)
        }
        if (viewOk && o.action == Action.Select) allow(i, o, "read through view " + o.underView).copy(objectName = s"${o.database}.${o.table}")
        else decide1(user, o, i)
      }
    }
  }

  private def decide1(user: String, o: AuthObject, i: Int): ObjectDecision = {
    val name = o.displayName
    if (o.database == "okera_sample" && o.table == "whoami") return allow(i, o, "everyone").copy(whoami = true)
    if (user == "admin") return allow(i, o, "admin")
    val act = o.action
    (user, name, act) match {
      case ("alice", "lg.users", Action.Select) =>
        ObjectDecision(i, name, allowed = true, "granted", o.columns.map { c =>
          c.name.toLowerCase match {
            case "ccn" => ColumnDecision(c.name, ColumnAction.Masked, Some(MaskSpec("mask_ccn")))
            case "ssn" => ColumnDecision(c.name, ColumnAction.Removed)
            case _ => ColumnDecision(c.name, ColumnAction.Visible)
          }
        }, rowFilter = "gender = 'F'")
      case ("alice", "lg.cond", Action.Select) =>
        ObjectDecision(i, name, allowed = true, "granted", o.columns.map { c =>
          if (c.name.equalsIgnoreCase("secret")) ColumnDecision(c.name, ColumnAction.Conditional, cases = Seq(
            ColumnCase("region = 'EU'", ColumnAction.Visible),
            ColumnCase("region <> 'XX'", ColumnAction.Masked, Some(MaskSpec("mask")))))
          else ColumnDecision(c.name, ColumnAction.Visible)
        })
      case ("alice" | "carol", "lg.v_users", Action.Select) => allow(i, o, "granted")
      case ("alice", _, Action.Show) if o.table.isEmpty || name == "lg.users" || name == "lg.v_users" => allow(i, o, "show")
      case ("alice", _, Action.Insert | Action.Create | Action.Drop | Action.Alter | Action.Select) if o.database == "lg_sandbox" => allow(i, o, "sandbox")
      case ("alice", u, _) if o.uri.nonEmpty && u.startsWith("file:///tmp/lakegate-allowed") => allow(i, o, "uri")
      case _ => deny(i, o, user)
    }
  }

  def answer(req: AuthorizeRequest, token: String): AuthorizeResponse = {
    val user = userOf(token)
    AuthorizeResponse(decide(user, req.objects), policyVersion, user, "req")
  }

  /** The client, answering through the JSON form so the parser is exercised too. */
  def client(): RecordedPlannerClient = {
    lazy val c: RecordedPlannerClient = new RecordedPlannerClient(req => {
      val resp = answer(req, c.tokens.last)
      Json.authorizeResponse(toJson(resp))
    })
    c
  }

  def toJson(r: AuthorizeResponse): String = {
    val root = Json.mapper.createObjectNode()
    val ds = root.putArray("decisions")
    r.decisions.foreach { d =>
      val n = ds.addObject()
      if (d.index != 0) n.put("index", d.index)
      n.put("object", d.objectName)
      if (d.allowed) n.put("allowed", true)
      n.put("reason", d.reason)
      if (d.columns.nonEmpty) {
        val cs = n.putArray("columns")
        d.columns.foreach { c =>
          val cn = cs.addObject()
          cn.put("name", c.name)
          cn.put("action", c.action.wire)
          c.mask.foreach { m => val mn = cn.putObject("mask"); mn.put("function", m.function); val a = mn.putArray("args"); m.args.foreach(a.add) }
          if (c.cases.nonEmpty) {
            val ks = cn.putArray("cases")
            c.cases.foreach { k =>
              val kn = ks.addObject(); kn.put("condition", k.condition); kn.put("action", k.action.wire)
              k.mask.foreach { m => val mn = kn.putObject("mask"); mn.put("function", m.function) }
            }
          }
        }
      }
      if (d.rowFilter.nonEmpty) n.put("rowFilter", d.rowFilter)
      if (d.fullAccess) n.put("fullAccess", true)
      if (d.whoami) n.put("whoami", true)
    }
    root.put("policyVersion", r.policyVersion.toString)
    root.put("user", r.user)
    root.put("requestId", r.requestId)
    Json.mapper.writeValueAsString(root)
  }
}
