package databricks

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A real RS256 JWT shape (header {"alg":"RS256","typ":"JWT"}): what an admin might paste by mistake.
const pastedJWT = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if os.Getenv("LAKEGATE_UPDATE_GOLDEN") == "1" {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; regenerate with LAKEGATE_UPDATE_GOLDEN=1")
	if string(want) == string(got) {
		return
	}
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	line := 0
	for line < len(w) && line < len(g) && w[line] == g[line] {
		line++
	}
	at := func(l []string) string {
		if line < len(l) {
			return l[line]
		}
		return "(end of file)"
	}
	t.Fatalf("%s differs from line %d:\n  want: %s\n  got:  %s\nif the change is intended, regenerate with LAKEGATE_UPDATE_GOLDEN=1",
		path, line+1, at(w), at(g))
}

// The settings the init script maps are exactly those the Spark extension reads.
func TestSettingsMatchTheExtension(t *testing.T) {
	src, err := os.ReadFile("../../spark/src/main/scala/io/lakegate/spark/Settings.scala")
	require.NoError(t, err)
	re := regexp.MustCompile(`\("(spark\.lakegate\.[A-Za-z]+)", "([A-Z_]+)", ("[^"]*"|DefaultSessionIdProperty)\)`)
	defaultSession := regexp.MustCompile(`DefaultSessionIdProperty = "([^"]+)"`).FindSubmatch(src)
	require.NotNil(t, defaultSession)
	var scala []Setting
	for _, m := range re.FindAllSubmatch(src, -1) {
		def := strings.Trim(string(m[3]), `"`)
		if string(m[3]) == "DefaultSessionIdProperty" {
			def = string(defaultSession[1])
		}
		scala = append(scala, Setting{Conf: string(m[1]), Env: string(m[2]), Default: def})
	}
	require.NotEmpty(t, scala)
	var ours []Setting
	for _, s := range Settings {
		ours = append(ours, Setting{Conf: s.Conf, Env: s.Env, Default: s.Default})
	}
	require.Equal(t, scala, ours)
}

// Under OKERA_FS the script writes exactly the s3a settings the extension requires
// (OkeraFs.hadoopSettings in lakegate-spark), and its plugin.
func TestOkeraFSSettingsMatchTheExtension(t *testing.T) {
	src, err := os.ReadFile("../../spark/src/main/scala/io/lakegate/spark/ensemble/OkeraFs.scala")
	require.NoError(t, err)
	body := string(src[strings.Index(string(src), "def hadoopSettings"):])
	body = body[:strings.Index(body, ")\n")]
	values := map[string]string{"S3AFileSystemClass": "org.apache.hadoop.fs.s3a.S3AFileSystem",
		"ProviderClass": "io.lakegate.spark.ensemble.UnboundCredentialsProvider",
		"AuditorClass":  "io.lakegate.spark.ensemble.EnsembleAuditor", "endpoint": "$ENSEMBLE",
		`endpoint.startsWith("https:").toString`: "$lg_ssl"}
	var scala []string
	for _, m := range regexp.MustCompile(`"(fs\.[a-z0-9.]+)" -> ("[^"]*"|[A-Za-z0-9.(":)]+)`).FindAllStringSubmatch(body, -1) {
		v := strings.Trim(m[2], `"`)
		if w, ok := values[m[2]]; ok {
			v = w
		}
		scala = append(scala, m[1]+" "+v)
	}
	require.Len(t, scala, 10)
	script := initScriptBody
	start := strings.Index(script, "conf_line \"spark.hadoop.$lg_conf\" \"$lg_val\"\n\tdone <<EOF\n")
	require.Positive(t, start)
	lines := script[start:]
	lines = lines[strings.Index(lines, "\n")+1:]
	lines = lines[strings.Index(lines, "\n")+1 : strings.Index(lines, "\nEOF\n")]
	require.Equal(t, scala, strings.Split(lines, "\n"))
	require.Contains(t, script, "conf_line spark.plugins io.lakegate.spark.ensemble.EnsemblePlugin")
	plugin, err := os.ReadFile("../../spark/src/main/scala/io/lakegate/spark/ensemble/EnsemblePlugin.scala")
	require.NoError(t, err)
	require.Contains(t, string(plugin), "class EnsemblePlugin extends SparkPlugin")
}

// Every jar the script can pick is one spark/build.sh builds, and every runtime maps to one.
func TestRuntimesPickBuiltJars(t *testing.T) {
	build, err := os.ReadFile("../../spark/build.sh")
	require.NoError(t, err)
	for _, v := range Variants {
		require.Contains(t, string(build), "  "+v.Name()+") build", v.Name())
	}
	for _, r := range Runtimes {
		require.Contains(t, r.Scalas, r.DefaultScala)
		for _, s := range r.Scalas {
			require.True(t, slices.Contains(Variants, Variant{r.Spark, s}), "runtime %d.x with Scala %s has no jar", r.Major, s)
		}
	}
	require.Equal(t, "15.x (Spark 3.5, Scala 2.12), 16.x (Spark 3.5, Scala 2.12 or 2.13), 17.x (Spark 4.0, Scala 2.13)", SupportedRuntimes())
}

var fixedSums = map[string]string{
	"lakegate-spark-3.5_2.12.jar": strings.Repeat("a", 64),
	"lakegate-spark-3.5_2.13.jar": strings.Repeat("b", 64),
	"lakegate-spark-4.0_2.13.jar": strings.Repeat("c", 64),
}

func TestInitScriptGolden(t *testing.T) {
	for name, o := range map[string]InitScriptOptions{
		"init-script-default.sh.golden":              {Version: "test"},
		"init-script-s3-hms-pinned.sh.golden":        {Version: "test", LibsFrom: "s3://acme-lakegate/libs/", InitHMSSchema: true, JarSHA256: fixedSums},
		"init-script-volume-from-dbfs-uri.sh.golden": {Version: "test", LibsFrom: "dbfs:/Volumes/main/lakegate/libs"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := InitScript(o)
			require.NoError(t, err)
			golden(t, name, got)
			// POSIX syntax, as dash reads it
			f := filepath.Join(t.TempDir(), "init.sh")
			require.NoError(t, os.WriteFile(f, got, 0o755))
			out, err := exec.Command("sh", "-n", f).CombinedOutput()
			require.NoError(t, err, string(out))
			if sc, err := exec.LookPath("shellcheck"); err == nil {
				out, err := exec.Command(sc, "--shell=sh", f).CombinedOutput()
				require.NoError(t, err, string(out))
			} else if os.Getenv("LAKEGATE_REQUIRE_SHELLCHECK") == "1" {
				t.Fatal("shellcheck is missing (apt-get install shellcheck)")
			}
		})
	}
}

func TestInitScriptHeader(t *testing.T) {
	got, err := InitScript(InitScriptOptions{LibsFrom: "dbfs:/Volumes/main/x/libs", JarSHA256: fixedSums, Version: "v1'2"})
	require.NoError(t, err)
	s := string(got)
	require.True(t, strings.HasPrefix(s, "#!/bin/sh\n"))
	require.Contains(t, s, "LG_LIBS_FROM='/Volumes/main/x/libs'\n", "a volume is read through its path on the nodes")
	require.Contains(t, s, `LG_VERSION='v1'\''2'`, "quotes in the version are quoted for the shell")
	require.Contains(t, s, "LG_SHA256='lakegate-spark-3.5_2.12.jar "+strings.Repeat("a", 64)+"\n")
	require.Contains(t, s, "spark.lakegate.jwtSigningKey LAKEGATE_JWT_SIGNING_KEY secret\n")
	require.Contains(t, s, "spark.lakegate.planner OKERA_PLANNER planner\n")
	require.Contains(t, s, "LG_INIT_HMS_SCHEMA='false'")
}

// Attack stopped: a libs location is pasted into a root shell script that runs on every node; one
// holding quotes, $(…), backticks or spaces could run commands there.
func TestLibsFromRefusesShellText(t *testing.T) {
	for _, bad := range []string{"dbfs:/x';rm -rf /;'", "dbfs:/x$(id)", "dbfs:/x`id`", "dbfs:/my libs",
		"s3://b/p\nid", `dbfs:/x"`, "dbfs:/../etc", "relative/dir", "gs://bucket/x", "dbfs:/", "s3://"} {
		_, err := InitScript(InitScriptOptions{LibsFrom: bad})
		require.Error(t, err, bad)
	}
	for in, want := range map[string]string{"": DefaultLibsFrom, "dbfs:/lakegate/": "dbfs:/lakegate",
		"s3://b/p": "s3://b/p", "https://h.example.com/lg": "https://h.example.com/lg", "/Volumes/c/s/v": "/Volumes/c/s/v"} {
		got, err := NormalizeLibsFrom(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got)
	}
}

func clusterCases() map[string]ClusterOptions {
	s3 := ClusterOptions{Planner: "planner.example.com", InitScript: "s3://acme-lakegate/lakegate/lakegate-init.sh",
		Region: "us-east-1", InstanceProfile: "arn:aws:iam::123456789012:instance-profile/databricks-lakegate"}
	dbfs := ClusterOptions{Planner: "planner.example.com:12050", InitScript: "dbfs:/lakegate/lakegate-init.sh"}
	with := func(o ClusterOptions, m AuthMode) ClusterOptions { o.Auth = m; return o }
	return map[string]ClusterOptions{
		"signing-key-s3":     with(s3, SigningKey),
		"signing-key-dbfs":   with(dbfs, SigningKey),
		"cluster-token-dbfs": with(dbfs, ClusterToken),
		"okera-token-s3":     with(s3, OkeraToken),
		"self-signed-dbfs":   with(dbfs, SelfSigned),
	}
}

// okeraFSCases are clusterCases with --okera-fs --ensemble.
func okeraFSCases() map[string]ClusterOptions {
	c := clusterCases()
	fs := func(o ClusterOptions) ClusterOptions {
		o.OkeraFS, o.Ensemble = true, "https://ensemble.example.com:5010/"
		return o
	}
	return map[string]ClusterOptions{
		"okera-fs-signing-key-s3":     fs(c["signing-key-s3"]),
		"okera-fs-cluster-token-dbfs": fs(c["cluster-token-dbfs"]),
	}
}

// allClusterCases are clusterCases and okeraFSCases.
func allClusterCases() map[string]ClusterOptions {
	all := clusterCases()
	for n, o := range okeraFSCases() {
		all[n] = o
	}
	return all
}

func TestClusterConfigAndPolicyGolden(t *testing.T) {
	for name, o := range allClusterCases() {
		t.Run(name, func(t *testing.T) {
			cfg, err := ClusterConfig(o)
			require.NoError(t, err)
			golden(t, "cluster-config-"+name+".json", cfg.JSON)
			pol, err := ClusterPolicy(o)
			require.NoError(t, err)
			golden(t, "cluster-policy-"+name+".json", pol.JSON)
			require.Equal(t, cfg.Warnings, pol.Warnings)
			require.NotEmpty(t, cfg.Warnings)
			if o.Auth == SelfSigned {
				require.Contains(t, cfg.Warnings[0], "PROOFS OF CONCEPT ONLY")
			}
		})
	}
}

var secretRef = regexp.MustCompile(`^\{\{secrets/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+\}\}$`)

// strings in a JSON document, with their paths
func jsonStrings(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			jsonStrings(prefix+"."+k, e, out)
		}
	case []any:
		for i, e := range x {
			jsonStrings(prefix+"."+string(rune('0'+i)), e, out)
		}
	case string:
		out[prefix] = x
	}
}

// The cluster JSON parses, carries the pieces the Clusters API expects, and holds no secret: the
// credential is a secret reference and nothing else looks like a key or a token.
func TestClusterConfigShape(t *testing.T) {
	for name, o := range allClusterCases() {
		t.Run(name, func(t *testing.T) {
			g, err := ClusterConfig(o)
			require.NoError(t, err)
			var doc map[string]any
			require.NoError(t, json.Unmarshal(g.JSON, &doc))
			env := doc["spark_env_vars"].(map[string]any)
			require.Equal(t, "planner.example.com:12050", env["OKERA_PLANNER"])
			if o.OkeraFS {
				require.Equal(t, "true", env["OKERA_ENABLE_OKERA_FS"])
				require.Equal(t, "https://ensemble.example.com:5010", env["LAKEGATE_ENSEMBLE"])
			} else {
				require.Equal(t, "false", env["OKERA_ENABLE_OKERA_FS"])
				require.NotContains(t, env, "LAKEGATE_ENSEMBLE")
			}
			scripts := doc["init_scripts"].([]any)
			require.Len(t, scripts, 1)
			_, hasAWS := doc["aws_attributes"]
			s3, isS3 := scripts[0].(map[string]any)["s3"]
			require.Equal(t, isS3, hasAWS, "the instance profile is set exactly for s3 init scripts")
			if isS3 {
				require.Equal(t, "us-east-1", s3.(map[string]any)["region"])
			}
			if sec, ok := secretOf[o.Auth]; ok {
				require.Regexp(t, secretRef, env[sec.env])
			}
			for _, other := range secretOf {
				if other.env != secretOf[o.Auth].env {
					require.NotContains(t, env, other.env)
				}
			}
			all := map[string]string{}
			jsonStrings("", doc, all)
			for path, v := range all {
				require.False(t, looksLikeSecret(v), "%s looks like a secret", path)
			}
			_, isolated := doc["spark_conf"]
			require.Equal(t, o.Auth == SigningKey, isolated, "isolation settings with the signing key only")
		})
	}
}

// Every policy attribute has a valid Databricks policy type and is either fixed with a value or
// forbidden (without one), and a secret stays a (hidden) reference.
func TestClusterPolicyShape(t *testing.T) {
	for name, o := range allClusterCases() {
		t.Run(name, func(t *testing.T) {
			g, err := ClusterPolicy(o)
			require.NoError(t, err)
			var def map[string]map[string]any
			require.NoError(t, json.Unmarshal(g.JSON, &def))
			for path, rule := range def {
				require.Contains(t, PolicyTypes, rule["type"], path)
				if rule["type"] == "forbidden" {
					require.NotContains(t, rule, "value", path)
					continue
				}
				require.Equal(t, "fixed", rule["type"], path)
				v, ok := rule["value"].(string)
				require.True(t, ok && v != "", "%s has no value", path)
				require.False(t, looksLikeSecret(v), path)
			}
			require.Contains(t, def, "spark_env_vars.OKERA_PLANNER")
			require.Contains(t, def, "spark_env_vars.OKERA_ENABLE_OKERA_FS")
			_, s3 := def["init_scripts.0.s3.destination"]
			_, dbfs := def["init_scripts.0.dbfs.destination"]
			require.True(t, s3 != dbfs)
			_, profile := def["aws_attributes.instance_profile_arn"]
			require.Equal(t, s3, profile, "instance profile only for S3")
			if sec, ok := secretOf[o.Auth]; ok {
				r := def["spark_env_vars."+sec.env]
				require.Regexp(t, secretRef, r["value"])
				require.Equal(t, true, r["hidden"])
			}
		})
	}
}

func TestClusterOptionsRefused(t *testing.T) {
	base := clusterCases()["signing-key-dbfs"]
	s3 := clusterCases()["signing-key-s3"]
	cases := map[string]struct {
		edit func(*ClusterOptions)
		want string
	}{
		// Attack stopped: a token or key pasted into a flag would end up in the cluster JSON or
		// policy, readable by everyone who can see the cluster's configuration.
		"token as secret key":       {func(o *ClusterOptions) { o.SecretKey = pastedJWT }, "looks like a token or a key"},
		"token as scope":            {func(o *ClusterOptions) { o.SecretsScope = pastedJWT }, "looks like a token or a key"},
		"key as planner":            {func(o *ClusterOptions) { o.Planner = "-----BEGIN PRIVATE KEY-----" }, "looks like a token or a key"},
		"bad secret key":            {func(o *ClusterOptions) { o.SecretKey = "a/b" }, "secret scope or key name"},
		"no auth":                   {func(o *ClusterOptions) { o.Auth = "" }, "--auth is required"},
		"unknown auth":              {func(o *ClusterOptions) { o.Auth = "kerberos" }, `--auth "kerberos"`},
		"no planner":                {func(o *ClusterOptions) { o.Planner = "" }, "--planner is required"},
		"https planner":             {func(o *ClusterOptions) { o.Planner = "https://p:1" }, "plain HTTP"},
		"bad port":                  {func(o *ClusterOptions) { o.Planner = "p:99999" }, "port"},
		"bad host":                  {func(o *ClusterOptions) { o.Planner = "p q" }, "not a host"},
		"no init script":            {func(o *ClusterOptions) { o.InitScript = "" }, "--init-script is required"},
		"init script not a file":    {func(o *ClusterOptions) { o.InitScript = "dbfs:/lakegate/" }, "location of the script file"},
		"init script gcs":           {func(o *ClusterOptions) { o.InitScript = "gs://b/lakegate-init.sh" }, "use s3://"},
		"profile without s3":        {func(o *ClusterOptions) { o.InstanceProfile = s3.InstanceProfile }, "for s3:// init scripts only"},
		"okera-fs without ensemble": {func(o *ClusterOptions) { o.OkeraFS = true }, "--okera-fs needs --ensemble"},
		"ensemble without okera-fs": {func(o *ClusterOptions) { o.Ensemble = "https://e:5010" }, "--ensemble is for --okera-fs only"},
		"token as ensemble":         {func(o *ClusterOptions) { o.OkeraFS, o.Ensemble = true, pastedJWT }, "looks like a token or a key"},
		"ensemble with user info":   {func(o *ClusterOptions) { o.OkeraFS, o.Ensemble = true, "http://user:pw@host" }, "--ensemble"},
		"secret key without use":    {func(o *ClusterOptions) { o.Auth = SelfSigned; o.SecretKey = "k" }, "uses no secret"},
		"s3 without region":         {func(o *ClusterOptions) { *o = s3; o.Region = "" }, "--region"},
		"s3 without profile":        {func(o *ClusterOptions) { *o = s3; o.InstanceProfile = "" }, "--instance-profile"},
		"s3 with a bogus profile":   {func(o *ClusterOptions) { *o = s3; o.InstanceProfile = "admin" }, "--instance-profile"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			o := base
			c.edit(&o)
			_, err := ClusterConfig(o)
			require.ErrorContains(t, err, c.want)
			_, err = ClusterPolicy(o)
			require.ErrorContains(t, err, c.want)
		})
	}
}

func TestInitScriptKinds(t *testing.T) {
	for loc, want := range map[string][2]string{
		"/Volumes/main/lg/libs/lakegate-init.sh":      {"volumes", "/Volumes/main/lg/libs/lakegate-init.sh"},
		"dbfs:/Volumes/main/lg/libs/lakegate-init.sh": {"volumes", "/Volumes/main/lg/libs/lakegate-init.sh"},
		"/Workspace/Shared/lakegate-init.sh":          {"workspace", "/Workspace/Shared/lakegate-init.sh"},
		"dbfs:/lakegate/lakegate-init.sh":             {"dbfs", "dbfs:/lakegate/lakegate-init.sh"},
	} {
		g, err := ClusterConfig(ClusterOptions{Auth: OkeraToken, Planner: "p", InitScript: loc})
		require.NoError(t, err)
		var doc struct {
			InitScripts []map[string]map[string]string `json:"init_scripts"`
		}
		require.NoError(t, json.Unmarshal(g.JSON, &doc))
		require.Equal(t, []map[string]map[string]string{{want[0]: {"destination": want[1]}}}, doc.InitScripts, loc)
	}
}

// goodEnsembles are base URLs of the ensemble and how they are normalized.
var goodEnsembles = map[string]string{
	"http://e:5010":                      "http://e:5010",
	"https://ensemble.example.com:5010/": "https://ensemble.example.com:5010",
	"https://ensemble.example.com":       "https://ensemble.example.com",
	"http://10.0.0.1:1":                  "http://10.0.0.1:1",
	"http://[::1]:5010":                  "http://[::1]:5010",
	"https://[fd00::1]/":                 "https://[fd00::1]",
	"http://e:65535":                     "http://e:65535",
	"http://Ensemble-1.Example.COM:80":   "http://Ensemble-1.Example.COM:80",
}

// Attacks stopped: the URL goes into the driver's Spark configuration and the init script's
// health check; credentials in it would be readable by everyone who sees the cluster's
// configuration, and a line break or a quote could add settings of its own.
var badEnsembles = []string{"", "ftp://e:21", "e:5010", "//e:5010", "HTTP://e", "s3://e",
	"http://user:pw@host", "http://user@host:5010", "http://host/path", "http://host:5010/x/", "http://host//",
	"http://e:5010\n\"spark.lakegate.planner\" = \"evil:1\"", "http://e\nx", "http://e:5010\n", "http://e\r",
	" http://e", "http://e ", "http://e\t", `http://e"`, "http://e'", "http://e?x=1", "http://e#f", "http://e%2f",
	"http://", "http:///", "https://:5010", "http://e:", "http://e:0", "http://e:65536", "http://e:000080", "http://e:x",
	"http://::1", "http://[::1", "http://[zz]:1", "http://-e", "http://e-", "http://e_x", "http://$(id)", "http://`id`",
	"http://e;id", "http://[e]", "http://[e]:1", "http://e.", "http://[::1]:", "http://[::1]x", "http://e:1:2",
	"https://e:99999", pastedJWT}

func TestNormalizeEnsemble(t *testing.T) {
	for in, want := range goodEnsembles {
		got, err := NormalizeEnsemble(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got)
	}
	for _, bad := range badEnsembles {
		_, err := NormalizeEnsemble(bad)
		require.Error(t, err, "%q", bad)
	}
}

// The init script accepts and refuses the same ensemble URLs as NormalizeEnsemble. It checks them
// first thing, so a good one gets as far as the (missing) OKERA_PLANNER.
func TestInitScriptChecksTheEnsembleLikeGo(t *testing.T) {
	script, err := InitScript(InitScriptOptions{Version: "test"})
	require.NoError(t, err)
	f := filepath.Join(t.TempDir(), "init.sh")
	require.NoError(t, os.WriteFile(f, script, 0o755))
	run := func(url string) string {
		cmd := exec.Command("sh", f)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LAKEGATE_DB_ROOT=" + t.TempDir(), "OKERA_ENABLE_OKERA_FS=true", "LAKEGATE_ENSEMBLE=" + url}
		out, err := cmd.CombinedOutput()
		require.Error(t, err, url)
		return string(out)
	}
	for in := range goodEnsembles {
		out := run(in)
		require.Contains(t, out, "OKERA_PLANNER is not set", "%q: %s", in, out)
		require.NotContains(t, out, "LAKEGATE_ENSEMBLE", in)
	}
	for _, bad := range badEnsembles {
		if bad == "" || strings.ContainsRune(bad, 0) {
			continue // "" is a missing variable (tested in tests/databricks)
		}
		out := run(bad)
		require.Contains(t, out, "LAKEGATE_ENSEMBLE", "%q: %s", bad, out)
		require.NotContains(t, out, "OKERA_PLANNER is not set", bad)
	}
}

func TestOkeraFSInstanceProfileWarns(t *testing.T) {
	for name, o := range okeraFSCases() {
		g, err := ClusterConfig(o)
		require.NoError(t, err)
		warned := strings.Contains(strings.Join(g.Warnings, "\n"), "must not grant access to the governed data")
		require.Equal(t, o.InstanceProfile != "", warned, name)
	}
	for name, o := range clusterCases() {
		g, err := ClusterConfig(o)
		require.NoError(t, err)
		require.NotContains(t, strings.Join(g.Warnings, "\n"), "governed data", name)
	}
}

func TestNormalizePlanner(t *testing.T) {
	for in, want := range map[string]string{"p": "p:12050", "p.example.com:1": "p.example.com:1",
		"http://p:2/": "p:2", "10.0.0.1": "10.0.0.1:12050", "[::1]": "[::1]:12050", "[fd00::1]:3": "[fd00::1]:3"} {
		got, err := NormalizePlanner(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got)
	}
	for _, bad := range []string{"", "::1", "p:", "p:x", "-p", "p;id", "s3://p"} {
		_, err := NormalizePlanner(bad)
		require.Error(t, err, bad)
	}
}

func fakeJars(t *testing.T) string {
	dir := t.TempDir()
	for _, v := range Variants {
		require.NoError(t, os.WriteFile(filepath.Join(dir, v.JarName()), []byte("jar "+v.Name()), 0o644))
	}
	return dir
}

func TestPlanUploadCommands(t *testing.T) {
	jars := fakeJars(t)
	for _, c := range []struct {
		to, profile, libs, script string
		first                     []string
	}{
		{"dbfs:/lakegate/", "", "dbfs:/lakegate", "dbfs:/lakegate/lakegate-init.sh",
			[]string{"databricks", "fs", "mkdir", "dbfs:/lakegate"}},
		{"/Volumes/main/lg/libs", "prod", "/Volumes/main/lg/libs", "/Volumes/main/lg/libs/lakegate-init.sh",
			[]string{"databricks", "fs", "mkdir", "dbfs:/Volumes/main/lg/libs", "--profile", "prod"}},
		{"s3://acme/lg", "", "s3://acme/lg", "s3://acme/lg/lakegate-init.sh", nil},
	} {
		stage := t.TempDir()
		p, err := PlanUpload(UploadOptions{To: c.to, JarsDir: jars, StageDir: stage, Profile: c.profile, Version: "t"})
		require.NoError(t, err, c.to)
		require.Equal(t, c.libs, p.LibsFrom)
		require.Equal(t, c.script, p.InitScript)
		require.Equal(t, []string{"lakegate-spark-3.5_2.12.jar", "lakegate-spark-3.5_2.13.jar", "lakegate-spark-4.0_2.13.jar", InitScriptName}, p.Files)
		if c.first != nil {
			require.Equal(t, c.first, p.Commands[0])
			require.Len(t, p.Commands, 5)
		} else {
			require.Len(t, p.Commands, 4)
			require.Equal(t, []string{"aws", "s3", "cp", "--only-show-errors", filepath.Join(stage, InitScriptName), "s3://acme/lg/lakegate-init.sh"}, p.Commands[3])
		}
		for _, f := range p.Files {
			require.FileExists(t, filepath.Join(stage, f))
		}
		script, err := os.ReadFile(filepath.Join(stage, InitScriptName))
		require.NoError(t, err)
		sum, err := fileSHA256(filepath.Join(jars, "lakegate-spark-4.0_2.13.jar"))
		require.NoError(t, err)
		require.Contains(t, string(script), "lakegate-spark-4.0_2.13.jar "+sum, "the staged script pins the staged jars")
		require.Contains(t, string(script), "LG_LIBS_FROM='"+c.libs+"'")
	}
}

func TestPlanUploadLocal(t *testing.T) {
	jars, stage := fakeJars(t), t.TempDir()
	dest := filepath.Join(t.TempDir(), "sandbox", "dbfs", "lakegate")
	p, err := PlanUpload(UploadOptions{To: dest, LibsFrom: "dbfs:/lakegate", JarsDir: jars, StageDir: stage})
	require.NoError(t, err)
	require.Empty(t, p.Commands)
	require.Equal(t, "dbfs:/lakegate/lakegate-init.sh", p.InitScript)
	require.NoError(t, p.CopyStaged())
	st, err := os.Stat(filepath.Join(dest, InitScriptName))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o755), st.Mode().Perm())
	got, err := os.ReadFile(filepath.Join(dest, "lakegate-spark-3.5_2.13.jar"))
	require.NoError(t, err)
	require.Equal(t, "jar 3.5_2.13", string(got))
}

func TestPlanUploadRefused(t *testing.T) {
	jars := fakeJars(t)
	require.NoError(t, os.Remove(filepath.Join(jars, "lakegate-spark-3.5_2.13.jar")))
	_, err := PlanUpload(UploadOptions{To: "dbfs:/lakegate", JarsDir: jars, StageDir: t.TempDir()})
	require.ErrorContains(t, err, "lakegate-spark-3.5_2.13.jar (spark/build.sh 3.5_2.13)")
	for to, want := range map[string]string{"": "--to is required", "/Workspace/Shared/lg": "volume",
		"gs://b/x": "use dbfs:/", "dbfs:/a b": "only letters"} {
		_, err := PlanUpload(UploadOptions{To: to, JarsDir: fakeJars(t), StageDir: t.TempDir()})
		require.ErrorContains(t, err, want, to)
	}
}

// docs/databricks.md stays true: its environment table names every variable the init script
// reads, and the High Concurrency policy it shows is what cluster-policy prints.
func TestDocsMatch(t *testing.T) {
	doc, err := os.ReadFile("../../docs/databricks.md")
	require.NoError(t, err)
	for _, s := range Settings {
		require.Contains(t, string(doc), "| `"+s.Env+"` |", s.Env)
		require.Contains(t, string(doc), "`"+s.Conf+"`", s.Conf)
	}
	for _, m := range MetastoreSettings {
		require.Contains(t, string(doc), "| `"+m.Env+"` | — | `"+m.Conf+"` |", m.Env)
	}
	for _, env := range regexp.MustCompile(`\$\{?([A-Z][A-Z0-9_]+)`).FindAllStringSubmatch(initScriptBody, -1) {
		if strings.HasPrefix(env[1], "LAKEGATE_") || strings.HasPrefix(env[1], "OKERA_") {
			require.Contains(t, string(doc), "`"+env[1]+"`", "the init script reads %s: document it", env[1])
		}
	}
	block := regexp.MustCompile("(?s)The policy for a\nHigh Concurrency cluster.*?```json\n(.*?)```").FindSubmatch(doc)
	require.NotNil(t, block)
	var shown, generated map[string]any
	require.NoError(t, json.Unmarshal(block[1], &shown))
	g, err := ClusterPolicy(clusterCases()["signing-key-s3"])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(g.JSON, &generated))
	require.Equal(t, generated, shown)
}

func TestShellJoin(t *testing.T) {
	require.Equal(t, `aws s3 cp '/tmp/my stage/x.jar' s3://b/x.jar 'it'\''s'`,
		ShellJoin([]string{"aws", "s3", "cp", "/tmp/my stage/x.jar", "s3://b/x.jar", "it's"}))
}

// Attack: whoever creates a cluster under the policy adds OKERA_TOKEN (someone else's identity),
// re-roots the init script so that its configuration lands where Spark never reads it, or sets
// spark.lakegate.planner to a planner of their own. The policy forbids every such attribute that
// it does not fix, in every mode.
func TestClusterPolicyForbidsWaysAround(t *testing.T) {
	for name, o := range allClusterCases() {
		t.Run(name, func(t *testing.T) {
			pol, err := ClusterPolicy(o)
			require.NoError(t, err)
			var def map[string]PolicyRule
			require.NoError(t, json.Unmarshal(pol.JSON, &def))
			for _, k := range GuardedEnv {
				r, ok := def["spark_env_vars."+k]
				require.True(t, ok, "spark_env_vars.%s is neither fixed nor forbidden", k)
				require.Contains(t, []string{"fixed", "forbidden"}, r.Type, k)
			}
			for _, k := range GuardedConf {
				require.Equal(t, "forbidden", def["spark_conf."+k].Type, k)
			}
			require.Equal(t, "forbidden", def["spark_env_vars.LAKEGATE_DB_ROOT"].Type)
			if o.Auth != OkeraToken {
				require.Equal(t, "forbidden", def["spark_env_vars.OKERA_TOKEN"].Type)
			}
		})
	}
}

// Attack: on a cluster whose S3 access goes through the ensemble, whoever creates it under the
// policy points s3a elsewhere (its endpoint, file system classes, credentials provider or auditor),
// drops the plugin that gives task threads their task's key,
// gives the cluster S3 credentials of its own, replaces the two settings the extension reads, or
// switches OKERA_FS off or to another ensemble: each would reach S3 without the ensemble. The
// policy fixes the switch and the URL and forbids every other way.
func TestClusterPolicyForbidsWaysAroundTheEnsemble(t *testing.T) {
	forbidden := []string{
		"spark_conf.spark.hadoop.fs.s3a.endpoint",
		"spark_conf.spark.hadoop.fs.s3a.aws.credentials.provider",
		"spark_conf.spark.hadoop.fs.s3a.audit.service.classname",
		"spark_conf.spark.hadoop.fs.s3a.audit.enabled",
		"spark_conf.spark.hadoop.fs.s3a.impl",
		"spark_conf.spark.hadoop.fs.s3.impl",
		"spark_conf.spark.hadoop.fs.s3a.access.key",
		"spark_conf.spark.hadoop.fs.s3a.secret.key",
		"spark_conf.spark.hadoop.fs.s3a.session.token",
		"spark_conf.spark.hadoop.fs.s3a.endpoint.region",
		"spark_conf.spark.hadoop.fs.s3a.path.style.access",
		"spark_conf.spark.hadoop.fs.s3a.connection.ssl.enabled",
		"spark_conf.spark.hadoop.fs.s3a.bucket.probe",
		"spark_conf.spark.plugins",
		"spark_conf.spark.lakegate.okeraFs",
		"spark_conf.spark.lakegate.ensemble",
		"spark_env_vars.AWS_ACCESS_KEY_ID",
		"spark_env_vars.AWS_SECRET_ACCESS_KEY",
		"spark_env_vars.AWS_SESSION_TOKEN",
	}
	for name, o := range allClusterCases() {
		t.Run(name, func(t *testing.T) {
			pol, err := ClusterPolicy(o)
			require.NoError(t, err)
			var def map[string]PolicyRule
			require.NoError(t, json.Unmarshal(pol.JSON, &def))
			if !o.OkeraFS {
				require.Equal(t, PolicyRule{Type: "fixed", Value: "false"}, def["spark_env_vars.OKERA_ENABLE_OKERA_FS"])
				for _, k := range forbidden {
					require.NotContains(t, def, k, "without --okera-fs the policy is unchanged")
				}
				return
			}
			require.Equal(t, PolicyRule{Type: "fixed", Value: "true"}, def["spark_env_vars.OKERA_ENABLE_OKERA_FS"])
			require.Equal(t, PolicyRule{Type: "fixed", Value: "https://ensemble.example.com:5010"}, def["spark_env_vars.LAKEGATE_ENSEMBLE"])
			for _, k := range forbidden {
				require.Equal(t, PolicyRule{Type: "forbidden"}, def[k], k)
			}
		})
	}
}
