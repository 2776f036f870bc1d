package io.lakegate.spark

import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.catalyst.{FunctionIdentifier, TableIdentifier}
import org.apache.spark.sql.catalyst.expressions.Expression
import org.apache.spark.sql.catalyst.parser.ParserInterface
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan
import org.apache.spark.sql.types.{DataType, StructType}

import io.lakegate.spark.rule.collect.Gates

/**
 * Spark's parser, with a gate put around every table a query reads (see Gates) and the builtins
 * of this session's builtins database renamed to their registered names. The per-version
 * LakegateParser only adds what its Spark line's ParserInterface declares beyond this.
 */
trait GatingParser extends ParserInterface {
  protected def session: SparkSession
  protected def delegate: ParserInterface

  /** The database users write before a builtin, from this session's settings. */
  private def builtinsDb: String = LakegateRuntime.get(session).settings.builtinsDb

  override def parsePlan(sqlText: String): LogicalPlan = {
    if (Guard.active) return Gates.renameBuiltins(delegate.parsePlan(sqlText), builtinsDb)
    Gates.recordStatement(sqlText)
    Authorizer.newStatement()
    Gates.insert(delegate.parsePlan(sqlText), builtinsDb)
  }
  override def parseQuery(sqlText: String): LogicalPlan =
    if (Guard.active) Gates.renameBuiltins(delegate.parseQuery(sqlText), builtinsDb)
    else Gates.insert(delegate.parseQuery(sqlText), builtinsDb)
  override def parseExpression(sqlText: String): Expression =
    Gates.renameBuiltins(delegate.parseExpression(sqlText), builtinsDb)
  override def parseTableIdentifier(sqlText: String): TableIdentifier = delegate.parseTableIdentifier(sqlText)
  override def parseFunctionIdentifier(sqlText: String): FunctionIdentifier = delegate.parseFunctionIdentifier(sqlText)
  override def parseMultipartIdentifier(sqlText: String): Seq[String] = delegate.parseMultipartIdentifier(sqlText)
  override def parseTableSchema(sqlText: String): StructType = delegate.parseTableSchema(sqlText)
  override def parseDataType(sqlText: String): DataType = delegate.parseDataType(sqlText)
}
