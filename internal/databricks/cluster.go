package databricks

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// AuthMode is how the Spark extension authenticates to the planner.
type AuthMode string

// The authentication modes (docs/spark.md).
const (
	SigningKey   AuthMode = "signing-key"   // High Concurrency / shared access mode clusters
	ClusterToken AuthMode = "cluster-token" // one identity for the whole cluster
	SelfSigned   AuthMode = "self-signed"   // proofs of concept only
	OkeraToken   AuthMode = "okera-token"   // OKERA_TOKEN: single-user clusters, jobs
)

// AuthModes lists the modes in the order the docs present them.
var AuthModes = []AuthMode{SigningKey, ClusterToken, SelfSigned, OkeraToken}

// DefaultSecretsScope is the Databricks secret scope keys and tokens are read from.
const DefaultSecretsScope = "lakegate"

// secretOf is, per mode, the environment variable holding the credential
// and the default key of the secret in the scope.
var secretOf = map[AuthMode]struct{ env, key string }{
	SigningKey:   {"LAKEGATE_JWT_SIGNING_KEY", "jwt-signing-key"},
	ClusterToken: {"LAKEGATE_CLUSTER_TOKEN", "cluster-token"},
	OkeraToken:   {"OKERA_TOKEN", "okera-token"},
}

// isolationConf is the Spark configuration of a High Concurrency cluster
// with process isolation: notebooks only in Python and SQL, each user's
// Python in a process of its own. The signing-key mode takes the user from
// Spark local properties and holds a key that can sign tokens for anyone;
// without isolation, a Scala or R cell could set those properties or read
// the key.
var isolationConf = map[string]string{
	"spark.databricks.cluster.profile":                "serverless",
	"spark.databricks.repl.allowedLanguages":          "python,sql",
	"spark.databricks.pyspark.enableProcessIsolation": "true",
}

// ClusterOptions configure ClusterConfig and ClusterPolicy.
type ClusterOptions struct {
	Auth       AuthMode
	Planner    string // host[:port] (port 12050 when omitted)
	InitScript string // s3://…, dbfs:/…, /Volumes/… or /Workspace/… of lakegate-init.sh
	// OkeraFS routes the cluster's S3 access through the ensemble (S3 proxy)
	// at Ensemble: OKERA_ENABLE_OKERA_FS=true and LAKEGATE_ENSEMBLE.
	OkeraFS bool
	// Ensemble is the ensemble's base URL, http(s)://host[:port]; required
	// with OkeraFS and refused without it.
	Ensemble        string
	SecretsScope    string // default DefaultSecretsScope
	SecretKey       string // key in the scope; default per mode (jwt-signing-key, cluster-token, okera-token)
	Region          string // AWS region of an s3:// init script (required for s3)
	InstanceProfile string // instance profile ARN letting the cluster read s3:// (required for s3, refused otherwise)
}

// Generated is a generated JSON document and the warnings to show with it.
type Generated struct {
	JSON     []byte
	Warnings []string
}

// cluster is the resolved content shared by the config and the policy.
type cluster struct {
	env        map[string]string
	secretEnv  string // the env var holding a secret reference, if any
	sparkConf  map[string]string
	customTags map[string]string
	scriptKind string // s3, dbfs, volumes, workspace
	scriptDest string
	region     string
	profile    string
	forbidden  []string // further policy attributes to forbid (OkeraFSGuarded)
	warnings   []string
}

var (
	secretName     = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)
	plannerHost    = regexp.MustCompile(`^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$`)
	awsRegion      = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	instanceProf   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:instance-profile/[A-Za-z0-9+=,.@_/-]+$`)
	ensembleChars  = regexp.MustCompile(`^[A-Za-z0-9.:/\[\]-]+$`)
	errInlineToken = errors.New("looks like a token or a key: never put one on the command line or in a cluster's configuration; store it as a Databricks secret (databricks secrets put-secret SCOPE KEY) and give --secrets-scope/--secret-key")
)

// NormalizePlanner checks host[:port] (an optional http:// is dropped) and
// returns host:port.
func NormalizePlanner(p string) (string, error) {
	p = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(p), "http://"), "/")
	if p == "" {
		return "", errors.New("--planner is required: the planner's host:port (or set OKERA_PLANNER)")
	}
	if strings.Contains(p, "://") {
		return "", fmt.Errorf("--planner %q: give host:port; the planner speaks plain HTTP", p)
	}
	host, port := p, DefaultPlannerPort
	if h, pt, err := net.SplitHostPort(p); err == nil {
		host, port = h, pt
		if strings.Contains(h, ":") {
			host = "[" + h + "]"
		}
	} else if strings.Count(p, ":") > 1 && !strings.HasPrefix(p, "[") {
		return "", fmt.Errorf("--planner %q: write an IPv6 address in brackets, [addr]:port", p)
	}
	if !plannerHost.MatchString(host) {
		return "", fmt.Errorf("--planner %q: not a host name or address", p)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("--planner %q: the port is not a number from 1 to 65535", p)
	}
	return host + ":" + port, nil
}

// NormalizeEnsemble checks the ensemble's base URL, http://host[:port] or
// https://host[:port] (a trailing slash allowed), and returns it without the
// trailing slash. No user info, path, query or fragment: the value goes into
// the driver's Spark configuration, and the init script checks it the same way.
func NormalizeEnsemble(u string) (string, error) {
	const form = "give the ensemble's (S3 proxy's) base URL, http://host[:port] or https://host[:port], e.g. https://ensemble.example.com:5010"
	if u == "" {
		return "", errors.New("--okera-fs needs --ensemble: " + form)
	}
	if !ensembleChars.MatchString(u) {
		return "", fmt.Errorf("--ensemble %q holds a character a base URL does not (whitespace, a line break, a quote, '@', '?', '#', …): %s", u, form)
	}
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return "", fmt.Errorf("--ensemble %q: %s", u, form)
	}
	rest = strings.TrimSuffix(rest, "/")
	switch {
	case rest == "":
		return "", fmt.Errorf("--ensemble %q names no host: %s", u, form)
	case strings.Contains(rest, "/"):
		return "", fmt.Errorf("--ensemble %q has a path: %s", u, form)
	}
	host, port := rest, ""
	if !strings.HasSuffix(rest, "]") && strings.Contains(rest, ":") {
		h, p, err := net.SplitHostPort(rest)
		if err != nil {
			return "", fmt.Errorf("--ensemble %q: not host[:port] (an IPv6 address goes in brackets, [addr]:port): %s", u, form)
		}
		host, port = h, p
		if strings.HasPrefix(rest, "[") {
			host = "[" + h + "]"
		}
		if n, err := strconv.Atoi(port); err != nil || len(port) > 5 || n < 1 || n > 65535 {
			return "", fmt.Errorf("--ensemble %q: the port is not a number from 1 to 65535: %s", u, form)
		}
	}
	if !plannerHost.MatchString(host) || (strings.HasPrefix(host, "[") && !strings.Contains(host, ":")) {
		return "", fmt.Errorf("--ensemble %q: %q is not a host name or address: %s", u, host, form)
	}
	return scheme + "://" + rest, nil
}

// OkeraFSGuarded are the cluster policy attributes forbidden with OkeraFS:
// the s3a settings the init script writes to route S3 through the ensemble
// (endpoint, credentials provider, auditor, file system classes), the plugin
// that hands task keys to task threads, and the two settings the extension
// reads, which a cluster's own Spark configuration would replace; and
// credentials of the cluster's own, which would reach S3 without the ensemble.
var OkeraFSGuarded = []string{
	"spark_conf.spark.hadoop.fs.s3a.endpoint",
	"spark_conf.spark.hadoop.fs.s3a.endpoint.region",
	"spark_conf.spark.hadoop.fs.s3a.path.style.access",
	"spark_conf.spark.hadoop.fs.s3a.connection.ssl.enabled",
	"spark_conf.spark.hadoop.fs.s3a.bucket.probe",
	"spark_conf.spark.hadoop.fs.s3a.aws.credentials.provider",
	"spark_conf.spark.hadoop.fs.s3a.audit.service.classname",
	"spark_conf.spark.hadoop.fs.s3a.audit.enabled",
	"spark_conf.spark.hadoop.fs.s3a.impl",
	"spark_conf.spark.hadoop.fs.s3.impl",
	"spark_conf.spark.hadoop.fs.s3a.access.key",
	"spark_conf.spark.hadoop.fs.s3a.secret.key",
	"spark_conf.spark.hadoop.fs.s3a.session.token",
	"spark_conf.spark.plugins",
	"spark_conf.spark.lakegate.okeraFs",
	"spark_conf.spark.lakegate.ensemble",
	"spark_env_vars.AWS_ACCESS_KEY_ID",
	"spark_env_vars.AWS_SECRET_ACCESS_KEY",
	"spark_env_vars.AWS_SESSION_TOKEN",
}

// looksLikeSecret reports whether s is a JWT or PEM key pasted where a name belongs.
func looksLikeSecret(s string) bool {
	if strings.Contains(s, "-----BEGIN") || strings.Contains(s, "PRIVATE KEY") {
		return true
	}
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) != 3 {
		return false
	}
	head, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return false
	}
	var h map[string]any
	return json.Unmarshal(head, &h) == nil && h["alg"] != nil
}

func (o ClusterOptions) resolve() (*cluster, error) {
	for name, v := range map[string]string{"--planner": o.Planner, "--init-script": o.InitScript,
		"--secrets-scope": o.SecretsScope, "--secret-key": o.SecretKey, "--region": o.Region,
		"--instance-profile": o.InstanceProfile, "--ensemble": o.Ensemble} {
		if looksLikeSecret(v) {
			return nil, fmt.Errorf("%s %w", name, errInlineToken)
		}
	}
	ensemble := ""
	if o.OkeraFS {
		var err error
		if ensemble, err = NormalizeEnsemble(o.Ensemble); err != nil {
			return nil, err
		}
	} else if o.Ensemble != "" {
		return nil, errors.New("--ensemble is for --okera-fs only: add --okera-fs to route the cluster's S3 access through the ensemble")
	}
	planner, err := NormalizePlanner(o.Planner)
	if err != nil {
		return nil, err
	}
	c := &cluster{
		env:        map[string]string{"OKERA_PLANNER": planner, "OKERA_ENABLE_OKERA_FS": "false"},
		sparkConf:  map[string]string{},
		customTags: map[string]string{},
	}
	if o.OkeraFS {
		c.env["OKERA_ENABLE_OKERA_FS"] = "true"
		c.env["LAKEGATE_ENSEMBLE"] = ensemble
		c.forbidden = OkeraFSGuarded
	}
	switch o.Auth {
	case SigningKey:
		c.env["LAKEGATE_AUTH_MODE"] = string(SigningKey)
		for k, v := range isolationConf {
			c.sparkConf[k] = v
		}
		c.customTags["ResourceClass"] = "Serverless"
		c.warnings = append(c.warnings, "signing-key: for High Concurrency (shared, process-isolated) clusters only; the configuration restricts notebooks to Python and SQL with process isolation, because the extension takes the user from Spark local properties and holds a key that signs tokens for any user")
	case ClusterToken:
		c.env["LAKEGATE_AUTH_MODE"] = string(ClusterToken)
		c.warnings = append(c.warnings, "cluster-token: everyone on this cluster acts as the token's user; give each user (or team with equal rights) a cluster of their own")
	case OkeraToken:
		c.warnings = append(c.warnings, "okera-token: every query on this cluster runs as the token's user (single-user clusters, jobs, service accounts)")
	case SelfSigned:
		c.env["LAKEGATE_AUTH_MODE"] = string(SelfSigned)
		c.env["LAKEGATE_SELF_SIGNED"] = "true"
		c.warnings = append(c.warnings, "self-signed: FOR PROOFS OF CONCEPT ONLY: anyone on this cluster can claim to be any user, and only a planner started with --insecure-accept-self-signed accepts these tokens; never use it with real data")
	case "":
		return nil, errors.New("--auth is required: signing-key (High Concurrency / shared clusters), cluster-token or okera-token (single-user clusters), or self-signed (proofs of concept only)")
	default:
		return nil, fmt.Errorf("--auth %q: use signing-key, cluster-token, self-signed or okera-token", o.Auth)
	}
	if sec, ok := secretOf[o.Auth]; ok {
		scope, key := o.SecretsScope, o.SecretKey
		if scope == "" {
			scope = DefaultSecretsScope
		}
		if key == "" {
			key = sec.key
		}
		for flag, v := range map[string]string{"--secrets-scope": scope, "--secret-key": key} {
			if !secretName.MatchString(v) {
				return nil, fmt.Errorf("%s %q: a Databricks secret scope or key name has 1 to 128 letters, digits, '_', '-' or '.'", flag, v)
			}
		}
		c.env[sec.env] = "{{secrets/" + scope + "/" + key + "}}"
		c.secretEnv = sec.env
	} else if o.SecretKey != "" {
		return nil, fmt.Errorf("--secret-key: --auth %s uses no secret", o.Auth)
	}

	loc := strings.TrimSpace(o.InitScript)
	if loc == "" {
		return nil, errors.New("--init-script is required: where the cluster finds lakegate-init.sh (s3://…, dbfs:/…, /Volumes/… or /Workspace/…), as printed by 'lakegate databricks upload-libs'")
	}
	if !safeLocation.MatchString(loc) || !strings.HasSuffix(loc, ".sh") {
		return nil, fmt.Errorf("--init-script %q: the location of the script file, e.g. dbfs:/lakegate/%s", loc, InitScriptName)
	}
	switch {
	case strings.HasPrefix(loc, "s3://"):
		c.scriptKind = "s3"
		if !awsRegion.MatchString(o.Region) {
			return nil, fmt.Errorf("--region %q: an s3:// init script needs the bucket's AWS region, e.g. us-east-1", o.Region)
		}
		if !instanceProf.MatchString(o.InstanceProfile) {
			return nil, fmt.Errorf("--instance-profile %q: an s3:// init script needs the ARN of an instance profile that may read it (arn:aws:iam::123456789012:instance-profile/NAME)", o.InstanceProfile)
		}
		c.region, c.profile = o.Region, o.InstanceProfile
	case strings.HasPrefix(loc, "dbfs:/Volumes/"), strings.HasPrefix(loc, "/Volumes/"):
		c.scriptKind = "volumes"
		loc = strings.TrimPrefix(loc, "dbfs:")
	case strings.HasPrefix(loc, "dbfs:/"):
		c.scriptKind = "dbfs"
	case strings.HasPrefix(loc, "/Workspace/"):
		c.scriptKind = "workspace"
	default:
		return nil, fmt.Errorf("--init-script %q: use s3://BUCKET/…, dbfs:/…, /Volumes/… or /Workspace/…", loc)
	}
	if c.scriptKind != "s3" && (o.Region != "" || o.InstanceProfile != "") {
		return nil, fmt.Errorf("--region and --instance-profile are for s3:// init scripts only (the init script is in %s)", c.scriptKind)
	}
	c.scriptDest = loc
	if o.OkeraFS && c.profile != "" {
		c.warnings = append(c.warnings, "okera-fs with an instance profile: the instance profile must not grant access to the governed data (only to the init script and the jars), or code on the cluster can bypass the ensemble and read or write S3 directly")
	}
	return c, nil
}

// ClusterConfig is the cluster JSON fragment for the Clusters API
// (create/edit): spark_env_vars, spark_conf, custom_tags, init_scripts and,
// for S3, aws_attributes.instance_profile_arn.
func ClusterConfig(o ClusterOptions) (Generated, error) {
	c, err := o.resolve()
	if err != nil {
		return Generated{}, err
	}
	storage := map[string]string{"destination": c.scriptDest}
	if c.region != "" {
		storage["region"] = c.region
	}
	doc := map[string]any{
		"spark_env_vars": c.env,
		"init_scripts":   []any{map[string]any{c.scriptKind: storage}},
	}
	if len(c.sparkConf) > 0 {
		doc["spark_conf"] = c.sparkConf
	}
	if len(c.customTags) > 0 {
		doc["custom_tags"] = c.customTags
	}
	if c.profile != "" {
		doc["aws_attributes"] = map[string]string{"instance_profile_arn": c.profile}
	}
	js, err := marshal(doc)
	return Generated{JSON: js, Warnings: c.warnings}, err
}

// PolicyTypes are the limitation types of Databricks cluster policies.
var PolicyTypes = []string{"fixed", "forbidden", "allowlist", "blocklist", "regex", "range", "unlimited"}

// PolicyRule is one attribute of a cluster policy definition.
type PolicyRule struct {
	Type   string `json:"type"`
	Value  any    `json:"value,omitempty"`
	Hidden bool   `json:"hidden,omitempty"`
}

// GuardedEnv are the environment variables whoever creates a cluster could add to get around
// lakegate: another identity (OKERA_TOKEN overrides every mode; the user and groups properties
// choose where identity comes from), another mode, or an init script that writes its
// configuration elsewhere (LAKEGATE_DB_ROOT), adds an extension after lakegate's or installs
// another jar. The policy fixes those the mode uses and forbids the others.
var GuardedEnv = []string{
	"OKERA_TOKEN", "LAKEGATE_AUTH_MODE", "LAKEGATE_JWT_SIGNING_KEY", "LAKEGATE_CLUSTER_TOKEN",
	"LAKEGATE_SELF_SIGNED", "LAKEGATE_USER_PROPERTY", "LAKEGATE_GROUPS_PROPERTY",
	"LAKEGATE_DB_ROOT", "LAKEGATE_EXTRA_SQL_EXTENSIONS", "LAKEGATE_JAR_VARIANT",
	"LAKEGATE_ALLOW_JVM_CALLS", "LAKEGATE_TRUSTED_PLAN_CLASSES",
}

// GuardedConf are the Spark settings that would replace what the init script configures (the
// extension reads spark.lakegate.* before the environment).
var GuardedConf = []string{
	"spark.sql.extensions", "spark.lakegate.planner", "spark.lakegate.token", "spark.lakegate.authMode",
	"spark.lakegate.jwtSigningKey", "spark.lakegate.clusterToken", "spark.lakegate.selfSigned",
	"spark.lakegate.userProperty", "spark.lakegate.groupsProperty",
	"spark.lakegate.allowJvmCalls", "spark.lakegate.trustedPlanClasses",
}

// ClusterPolicy is a cluster policy definition fixing everything lakegate
// needs: the environment variables, the init script (as the first one), the
// isolation settings of the signing-key mode and, for S3, the instance
// profile. Users of the policy cannot change them, nor add the settings that
// would get around them (GuardedEnv, GuardedConf and, with OkeraFS,
// OkeraFSGuarded: forbidden).
func ClusterPolicy(o ClusterOptions) (Generated, error) {
	c, err := o.resolve()
	if err != nil {
		return Generated{}, err
	}
	def := map[string]PolicyRule{}
	for k, v := range c.env {
		def["spark_env_vars."+k] = PolicyRule{Type: "fixed", Value: v, Hidden: k == c.secretEnv}
	}
	for _, k := range GuardedEnv {
		if _, fixed := c.env[k]; !fixed {
			def["spark_env_vars."+k] = PolicyRule{Type: "forbidden"}
		}
	}
	for _, k := range GuardedConf {
		def["spark_conf."+k] = PolicyRule{Type: "forbidden"}
	}
	for k, v := range c.sparkConf {
		def["spark_conf."+k] = PolicyRule{Type: "fixed", Value: v}
	}
	for k, v := range c.customTags {
		def["custom_tags."+k] = PolicyRule{Type: "fixed", Value: v}
	}
	for _, k := range c.forbidden {
		def[k] = PolicyRule{Type: "forbidden"}
	}
	def["init_scripts.0."+c.scriptKind+".destination"] = PolicyRule{Type: "fixed", Value: c.scriptDest}
	if c.region != "" {
		def["init_scripts.0.s3.region"] = PolicyRule{Type: "fixed", Value: c.region}
	}
	if c.profile != "" {
		def["aws_attributes.instance_profile_arn"] = PolicyRule{Type: "fixed", Value: c.profile}
	}
	js, err := marshal(def)
	return Generated{JSON: js, Warnings: c.warnings}, err
}

// marshal is indented JSON with sorted keys and no HTML escaping.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
