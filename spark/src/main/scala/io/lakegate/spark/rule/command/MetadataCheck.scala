package io.lakegate.spark.rule.command

import io.lakegate.spark.LakegateErrors
import io.lakegate.spark.client.{ColumnAction, ObjectDecision}
import io.lakegate.spark.rule.inventory.MetaLevel

object MetadataCheck {
  /** Metadata of a table may show only what its decision lets the user read. */
  def apply(m: Commands.MetadataNeed, d: ObjectDecision, user: String): Unit = {
    val o = m.obj
    val removed = d.columns.exists(_.action == ColumnAction.Removed)
    val limited = !d.unrestricted
    val why = m.level match {
      case MetaLevel.Readable => None
      case MetaLevel.AllColumns if removed => Some("some of its columns are removed for you, and this names every column")
      case MetaLevel.Unrestricted if limited =>
        Some("your access to it is limited (a row filter, masked or removed columns), and this shows data beyond that")
      case _ => None
    }
    why.foreach { w =>
      throw LakegateErrors.refused(user, s"run ${m.what.stripSuffix("Command")} on ${o.displayName}: $w",
        s"Ask an administrator for unrestricted SELECT ON TABLE ${o.displayName}")
    }
  }
}
