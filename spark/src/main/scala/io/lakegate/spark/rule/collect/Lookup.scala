package io.lakegate.spark.rule.collect

import scala.collection.mutable.ArrayBuffer
import scala.util.Try

import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.catalyst.analysis.UnresolvedRelation
import org.apache.spark.sql.catalyst.plans.logical.{LogicalPlan, SubqueryAlias, View}
import org.apache.spark.sql.lakegate.SessionAccess

import io.lakegate.spark.Guard
import io.lakegate.spark.client.{Action, AuthObject, ViewRead}
import io.lakegate.spark.plan.{LakegateGate, LakegateSecured, LakegateWhoAmI}
import io.lakegate.spark.rule.Plans.{isWhoAmI, rawOf, subqueryPlans}

/** Objects found by resolving names alone, with lakegate's rules off (Guard). */
object Lookup {
  /** The table or view named by `o`, resolved alone (lakegate's rules off), as a SELECT object with its columns. */
  def resolveForSelect(session: SparkSession, o: AuthObject, currentDb: String): Option[AuthObject] =
    if (o.table.isEmpty) None
    else {
      val resolved = Try(Guard(SessionAccess.analyzer(session).execute(UnresolvedRelation(Seq(o.database, o.table))))).toOption
      def strip(p: LogicalPlan): LogicalPlan = p match { case s: SubqueryAlias => strip(s.child); case x => x }
      resolved.map(strip).flatMap {
        case v: View if !v.isTempView => Some(Relations.viewObject(v, "", currentDb))
        case r if Relations.isRelation(r) => Relations.objects(r, currentDb).headOption
        case _ => None
      }.map(_.copy(action = Action.Select))
    }

  /** What a view's definition reads directly: tables, views (not what is under them), paths. */
  def viewReads(query: LogicalPlan, currentDb: String): Seq[ViewRead] = {
    val out = ArrayBuffer.empty[ViewRead]
    def add(o: AuthObject): Unit = out += ViewRead(o.database, o.table, o.uri)
    def walk(p: LogicalPlan): Unit = p match {
      case g: LakegateGate => walk(g.child)
      case m: LakegateSecured => walk(rawOf(m))
      case v: View if !v.isTempView => add(Relations.viewObject(v, "", currentDb))
      case r if Relations.isRelation(r) && !r.isInstanceOf[LakegateWhoAmI] => Relations.objects(r, currentDb).foreach(add)
      case other =>
        other.children.foreach(walk)
        subqueryPlans(other).foreach(walk)
    }
    walk(query)
    out.distinct.toSeq
  }

  /**
   * The objects of the tables that the not yet analysed subqueries of plan read, found by
   * resolving each table name alone (lakegate's rules off). Best effort: a name that does not
   * resolve is left to the subquery's own analysis.
   */
  def subqueryObjects(session: SparkSession, plan: LogicalPlan, currentDb: String): Seq[AuthObject] = {
    val names = ArrayBuffer.empty[Seq[String]]
    def inSubquery(p: LogicalPlan): Unit = {
      p.foreach {
        case u: UnresolvedRelation if !isWhoAmI(u.multipartIdentifier) => names += u.multipartIdentifier
        case _ =>
      }
      p.foreach(n => subqueryPlans(n).foreach(inSubquery))
    }
    plan.foreach(n => subqueryPlans(n).foreach(inSubquery))
    if (names.isEmpty) return Nil
    val analyzer = SessionAccess.analyzer(session)
    names.distinct.flatMap { parts =>
      Try(Guard(analyzer.execute(UnresolvedRelation(parts)))).toOption.toSeq.flatMap { resolved =>
        val c = new Collector(currentDb, Nil)
        c.walk(resolved, "")
        c.sites.map(_._2)
      }
    }.distinct.toSeq
  }
}
