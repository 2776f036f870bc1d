package databricks

import (
	"fmt"
	"strings"
)

// Variant is one build of the lakegate-spark jar: a Spark line and a Scala
// version.
type Variant struct {
	Spark string // "3.5", "4.0"
	Scala string // "2.12", "2.13"
}

// Name is the variant as spark/build.sh spells it: "3.5_2.12".
func (v Variant) Name() string { return v.Spark + "_" + v.Scala }

// JarName is the jar's file name, as spark/build.sh writes it and as the
// init script looks for it in the libs location.
func (v Variant) JarName() string { return "lakegate-spark-" + v.Name() + ".jar" }

// Variants are the jars lakegate builds (spark/build.sh all).
var Variants = []Variant{{"3.5", "2.12"}, {"3.5", "2.13"}, {"4.0", "2.13"}}

// Runtime is one supported Databricks runtime major version: its Spark line
// and the Scala versions its images come in.
type Runtime struct {
	Major        int
	Spark        string
	DefaultScala string   // the Scala of the runtime's standard image
	Scalas       []string // every Scala the runtime's images come in
}

// Runtimes are the Databricks runtimes the init script installs lakegate on
// (Databricks' release notes: 15.x is Spark 3.5 with Scala 2.12; 16.x is
// Spark 3.5 with Scala 2.12, and 16.4 LTS also comes as a Scala 2.13 image;
// 17.x is Spark 4.0 with Scala 2.13). Anything else is refused at cluster
// start with the list below.
var Runtimes = []Runtime{
	{Major: 15, Spark: "3.5", DefaultScala: "2.12", Scalas: []string{"2.12"}},
	{Major: 16, Spark: "3.5", DefaultScala: "2.12", Scalas: []string{"2.12", "2.13"}},
	{Major: 17, Spark: "4.0", DefaultScala: "2.13", Scalas: []string{"2.13"}},
}

// SupportedRuntimes describes Runtimes for people: "15.x (Spark 3.5, Scala 2.12), …".
func SupportedRuntimes() string {
	parts := make([]string, 0, len(Runtimes))
	for _, r := range Runtimes {
		parts = append(parts, fmt.Sprintf("%d.x (Spark %s, Scala %s)", r.Major, r.Spark, strings.Join(r.Scalas, " or ")))
	}
	return strings.Join(parts, ", ")
}

// Setting is one setting of the Spark extension: its Spark conf key, the
// environment variable it falls back to, its default, and whether its value
// is a credential. This is the table of spark/…/Settings.scala (a test
// keeps the two equal); the init script turns each environment variable
// that is set into its Spark conf key.
type Setting struct {
	Conf    string
	Env     string
	Default string
	Secret  bool
}

// Settings of the Spark extension, in the order of Settings.scala.
var Settings = []Setting{
	{Conf: "spark.lakegate.planner", Env: "OKERA_PLANNER"},
	{Conf: "spark.lakegate.token", Env: "OKERA_TOKEN", Secret: true},
	{Conf: "spark.lakegate.authMode", Env: "LAKEGATE_AUTH_MODE"},
	{Conf: "spark.lakegate.jwtSigningKey", Env: "LAKEGATE_JWT_SIGNING_KEY", Secret: true},
	{Conf: "spark.lakegate.clusterToken", Env: "LAKEGATE_CLUSTER_TOKEN", Secret: true},
	{Conf: "spark.lakegate.selfSigned", Env: "LAKEGATE_SELF_SIGNED", Default: "false"},
	{Conf: "spark.lakegate.tokenTtlSeconds", Env: "LAKEGATE_TOKEN_TTL_SECONDS", Default: "300"},
	{Conf: "spark.lakegate.userProperty", Env: "LAKEGATE_USER_PROPERTY", Default: "user"},
	{Conf: "spark.lakegate.groupsProperty", Env: "LAKEGATE_GROUPS_PROPERTY"},
	{Conf: "spark.lakegate.sessionIdFromJobGroup", Env: "LAKEGATE_SESSION_ID_FROM_JOB_GROUP", Default: "true"},
	{Conf: "spark.lakegate.sessionIdProperty", Env: "LAKEGATE_SESSION_ID_PROPERTY", Default: "spark.databricks.notebook.id"},
	{Conf: "spark.lakegate.builtinsDb", Env: "OKERA_BUILTINS_DB", Default: "okera_udfs"},
	{Conf: "spark.lakegate.connectTimeoutMs", Env: "LAKEGATE_CONNECT_TIMEOUT_MS", Default: "5000"},
	{Conf: "spark.lakegate.requestTimeoutMs", Env: "LAKEGATE_REQUEST_TIMEOUT_MS", Default: "30000"},
	{Conf: "spark.lakegate.cacheTtlMs", Env: "LAKEGATE_CACHE_TTL_MS", Default: "10000"},
	// File access through the ensemble: the init script writes these two only when
	// OKERA_ENABLE_OKERA_FS is true, after checking LAKEGATE_ENSEMBLE (okeraFSEnv).
	{Conf: "spark.lakegate.okeraFs", Env: "OKERA_ENABLE_OKERA_FS", Default: "false"},
	{Conf: "spark.lakegate.ensemble", Env: "LAKEGATE_ENSEMBLE"},
	// Security (docs/security.md): JVM calls on single-user clusters only; plan classes of other
	// extensions an administrator declares free of governed data.
	{Conf: "spark.lakegate.allowJvmCalls", Env: "LAKEGATE_ALLOW_JVM_CALLS"},
	{Conf: "spark.lakegate.trustedPlanClasses", Env: "LAKEGATE_TRUSTED_PLAN_CLASSES"},
}

// okeraFSEnv are the Settings the init script does not copy as they are: it
// checks them and writes both, or neither.
var okeraFSEnv = map[string]bool{"OKERA_ENABLE_OKERA_FS": true, "LAKEGATE_ENSEMBLE": true}

// MetastoreSetting maps an environment variable the init script reads to
// the Spark conf key of an external Hive metastore it writes.
type MetastoreSetting struct {
	Env     string
	Conf    string
	Meaning string
}

// MetastoreSettings are the metastore settings the init script writes when
// their environment variables are set. The metastore password is not among
// them: it belongs in the cluster's Spark config as a secret reference
// (spark.hadoop.javax.jdo.option.ConnectionPassword {{secrets/<scope>/<key>}}),
// never in a file on the node.
var MetastoreSettings = []MetastoreSetting{
	{Env: "LAKEGATE_HMS_URIS", Conf: "spark.hadoop.hive.metastore.uris", Meaning: "thrift:// address of a Hive metastore service"},
	{Env: "LAKEGATE_HMS_JDBC_URL", Conf: "spark.hadoop.javax.jdo.option.ConnectionURL", Meaning: "JDBC URL of the metastore database"},
	{Env: "LAKEGATE_HMS_JDBC_DRIVER", Conf: "spark.hadoop.javax.jdo.option.ConnectionDriverName", Meaning: "JDBC driver class of the metastore database"},
	{Env: "LAKEGATE_HMS_JDBC_USER", Conf: "spark.hadoop.javax.jdo.option.ConnectionUserName", Meaning: "user of the metastore database"},
	{Env: "LAKEGATE_HMS_VERSION", Conf: "spark.sql.hive.metastore.version", Meaning: "Hive version of the metastore"},
	{Env: "LAKEGATE_HMS_JARS", Conf: "spark.sql.hive.metastore.jars", Meaning: "where Spark finds that Hive version's client (builtin, maven or a path)"},
}

// HMSSchemaSettings are what --init-hms-schema adds: they let the first
// cluster create the metastore's tables in an empty database.
var HMSSchemaSettings = [][2]string{
	{"spark.hadoop.datanucleus.autoCreateSchema", "true"},
	{"spark.hadoop.hive.metastore.schema.verification", "false"},
}

// HMSSchemaWarning is printed by --init-hms-schema.
const HMSSchemaWarning = `WARNING: --init-hms-schema: this init script lets Spark create the Hive metastore's tables
(datanucleus.autoCreateSchema=true, hive.metastore.schema.verification=false). Use it for the
first start against an empty metastore database only, then remove these two settings: regenerate
the script without --init-hms-schema and upload it again, so that no later start can alter a
metastore schema or silently accept one of another Hive version.`

// ExtensionClass is the class spark.sql.extensions names.
const ExtensionClass = "io.lakegate.spark.LakegateSparkExtension"

// InitScriptName is the init script's file name in the libs location.
const InitScriptName = "lakegate-init.sh"

// DefaultPlannerPort is the planner's port when OKERA_PLANNER names none.
const DefaultPlannerPort = "12050"
