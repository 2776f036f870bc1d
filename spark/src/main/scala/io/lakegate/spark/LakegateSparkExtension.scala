package io.lakegate.spark

import org.apache.spark.sql.SparkSessionExtensions
import org.apache.spark.sql.catalyst.FunctionIdentifier
import org.apache.spark.sql.catalyst.expressions.ExpressionInfo

import io.lakegate.spark.builtins.{BuiltinFunctions, Builtins, LakegateBuiltin}
import io.lakegate.spark.ensemble.OkeraFs
import io.lakegate.spark.rule.{RuleAuthorize, RuleEliminateMarkers}

/**
 * lakegate's Spark extension: `spark.sql.extensions=io.lakegate.spark.LakegateSparkExtension`.
 *
 *  - parser: puts a gate around every table a query reads (rule/collect/Gates);
 *  - resolution rule and post-hoc resolution rule: RuleAuthorize — one planner request per query
 *    for every relation, view and command target, decisions applied under each relation
 *    (rule/masking, rule/rowfilter), views (definer rights), commands (rule/command), whoami;
 *  - optimizer rule: RuleEliminateMarkers removes the markers, so a query with full access has
 *    the same optimized plan as without lakegate;
 *  - functions: the builtins as `<OKERA_BUILTINS_DB>.mask(x)`, … (rule/builtins);
 *  - with OKERA_ENABLE_OKERA_FS, s3a through the ensemble with each user's key (ensemble/).
 */
class LakegateSparkExtension extends (SparkSessionExtensions => Unit) {
  override def apply(ext: SparkSessionExtensions): Unit = {
    // The parser is built with the session's state, before any file is touched: the moment to
    // route s3a through the ensemble (OKERA_ENABLE_OKERA_FS), or to fail the session.
    ext.injectParser { (session, delegate) =>
      OkeraFs.install(session)
      new LakegateParser(session, delegate)
    }
    ext.injectResolutionRule(session => new RuleAuthorize(session, postHoc = false))
    ext.injectPostHocResolutionRule(session => new RuleAuthorize(session, postHoc = true))
    ext.injectOptimizerRule(_ => RuleEliminateMarkers)
    // Registered under internal one-part names; the parser turns `<builtinsDb>.mask(x)` into
    // them (Spark looks qualified names up in the metastore, where they do not exist).
    for (name <- BuiltinFunctions.Names) {
      val info = new ExpressionInfo(classOf[LakegateBuiltin].getName, null, BuiltinNames.internal(name))
      ext.injectFunction((FunctionIdentifier(BuiltinNames.internal(name)), info,
        (args: Seq[org.apache.spark.sql.catalyst.expressions.Expression]) => Builtins.build(name, args)))
    }
  }
}

/** Registered names of the builtins (users write `<OKERA_BUILTINS_DB>.<name>`). */
object BuiltinNames {
  val Prefix = "__lakegate_"
  def internal(name: String): String = Prefix + name
}
