package io.lakegate.spark

import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.catalyst.{FunctionIdentifier, TableIdentifier}
import org.apache.spark.sql.catalyst.expressions.Expression
import org.apache.spark.sql.catalyst.parser.ParserInterface
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan
import org.apache.spark.sql.types.{DataType, StructType}

import io.lakegate.spark.rule.collect.Gates

/** Spark's parser, with a gate put around every table a query reads (see Gates). */
class LakegateParser(session: SparkSession, delegate: ParserInterface) extends ParserInterface {
  override def parsePlan(sqlText: String): LogicalPlan = {
    if (Guard.active) return Gates.renameBuiltins(delegate.parsePlan(sqlText))
    Gates.recordStatement(sqlText)
    Authorizer.newStatement()
    Gates.insert(delegate.parsePlan(sqlText))
  }
  override def parseExpression(sqlText: String): Expression = Gates.renameBuiltins(delegate.parseExpression(sqlText))
  override def parseTableIdentifier(sqlText: String): TableIdentifier = delegate.parseTableIdentifier(sqlText)
  override def parseFunctionIdentifier(sqlText: String): FunctionIdentifier = delegate.parseFunctionIdentifier(sqlText)
  override def parseMultipartIdentifier(sqlText: String): Seq[String] = delegate.parseMultipartIdentifier(sqlText)
  override def parseQuery(sqlText: String): LogicalPlan =
    if (Guard.active) Gates.renameBuiltins(delegate.parseQuery(sqlText)) else Gates.insert(delegate.parseQuery(sqlText))
  override def parseTableSchema(sqlText: String): StructType = delegate.parseTableSchema(sqlText)
  override def parseDataType(sqlText: String): DataType = delegate.parseDataType(sqlText)
}
