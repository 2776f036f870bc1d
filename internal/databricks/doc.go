// Package databricks generates what a Databricks admin needs to install
// lakegate on a cluster: the node init script (InitScript), the cluster
// JSON fragment for the Clusters API (ClusterConfig), the cluster policy
// (ClusterPolicy) and the upload of the jars and the script to DBFS, a
// Unity Catalog volume, S3 or a local directory (PlanUpload).
//
// The init script is one POSIX sh file: a generated header (the libs
// location, the runtime → jar table, the pinned SHA-256 of each jar, the
// table of extension settings) and a fixed body (initscript.sh). On every
// node at cluster start it picks the lakegate-spark jar for the node's
// Databricks runtime and puts it in /databricks/jars; on the driver it
// checks that OKERA_PLANNER answers, moves secrets from the environment
// into files only root can read, and writes the Spark configuration
// (spark.sql.extensions, the spark.lakegate.* settings from the OKERA_* and
// LAKEGATE_* environment variables, metastore settings) into
// /databricks/driver/conf in Databricks' "[driver] { "key" = "value" }"
// format. Everything it writes is rewritten at every start.
// LAKEGATE_DB_ROOT re-roots every Databricks path, so tests run the
// script unchanged in a sandbox.
//
// The cluster configuration and policy never hold a secret: keys and
// tokens are Databricks secret references, {{secrets/<scope>/<key>}}.
package databricks
