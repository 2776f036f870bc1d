package planner_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lakegate/lakegate/internal/authn"
)

const samplePolicy = "CREATE ROLE analyst; GRANT ROLE analyst TO GROUP analysts; " +
	"GRANT SELECT ON TABLE okera_sample.users TRANSFORM pii.credit_card WITH mask_ccn() WHERE gender = 'F' TO ROLE analyst"

// The "done when" walk-through, as written.
func TestQuickStartAsWritten(t *testing.T) {
	p := startPlanner(t, keys(t), t.TempDir())
	root := p.token("root", "admin")
	p.mustSQL(root, samplePolicy)

	alice := p.cli(p.token("alice", "analysts"), "authorize", "--table", "okera_sample.users")
	require.Equal(t, 0, alice.code, alice.stderr)
	d := jsonOf(t, alice.stdout)
	require.Equal(t, "alice", d["user"])
	dec := dig(d, "decisions", 0)
	require.Equal(t, true, dig(dec, "allowed"))
	require.Equal(t, "gender = 'F'", dig(dec, "rowFilter"))
	byName := map[string]any{}
	for _, c := range dig(dec, "columns").([]any) {
		byName[dig(c, "name").(string)] = c
	}
	require.Len(t, byName, 4)
	require.Equal(t, "COLUMN_ACTION_MASKED", dig(byName["ccn"], "action"))
	require.Equal(t, "mask_ccn", dig(byName["ccn"], "mask", "function"))
	for _, c := range []string{"uid", "dob", "gender"} {
		require.Equal(t, "COLUMN_ACTION_VISIBLE", dig(byName[c], "action"), c)
	}

	bob := p.cli(p.token("bob"), "authorize", "--table", "okera_sample.users")
	require.Equal(t, 1, bob.code)
	require.Contains(t, bob.stderr, "denied")
	require.Contains(t, bob.stderr, `user "bob"`)
	require.Contains(t, bob.stderr, "okera_sample.users")

	who := p.cli(p.token("alice", "analysts"), "whoami")
	require.Equal(t, 0, who.code, who.stderr)
	require.Contains(t, who.stdout, "user:   alice")
	require.Contains(t, who.stdout, "roles:  analyst")

	// Admin sees everything unmasked.
	adm := jsonOf(t, p.cli(root, "authorize", "--table", "okera_sample.users").stdout)
	require.Equal(t, true, dig(adm, "decisions", 0, "fullAccess"))
}

func TestRawJSONAndHealth(t *testing.T) {
	p := startPlanner(t, keys(t), t.TempDir())
	root := p.token("root", "admin")
	p.mustSQL(root, samplePolicy)
	alice := p.token("alice", "analysts")

	code, body := p.post(alice, "Authorize", map[string]any{
		"sessionId": "s1", "client": "test", "action": "ACTION_SELECT",
		"objects": []any{
			map[string]any{"database": "okera_sample", "table": "users", "columns": []any{
				map[string]any{"name": "uid", "type": "string"}, map[string]any{"name": "ccn", "type": "string"}}},
			map[string]any{"database": "okera_sample", "table": "whoami", "columns": []any{map[string]any{"name": "user", "type": "string"}}},
			map[string]any{"uri": "s3://bucket/private"},
		},
	})
	require.Equal(t, 200, code, body)
	require.Equal(t, "COLUMN_ACTION_MASKED", dig(body, "decisions", 0, "columns", 1, "action"))
	require.Equal(t, true, dig(body, "decisions", 1, "whoami"))
	require.Equal(t, nil, dig(body, "decisions", 2, "allowed"), "URI denied (false is omitted in JSON)")
	require.NotEmpty(t, body["policyVersion"])

	code, body = p.post(alice, "WhoAmI", map[string]any{})
	require.Equal(t, 200, code)
	require.Equal(t, "alice", body["user"])

	code, s := p.get("/healthz")
	require.Equal(t, 200, code)
	code, s = p.get("/readyz")
	require.Equal(t, 200, code)
	require.Contains(t, s, "policy version")
	code, s = p.get("/metrics")
	require.Equal(t, 200, code)
	for _, m := range []string{"lakegate_requests_total", "lakegate_request_duration_seconds", `lakegate_decisions_total{outcome="allowed"}`,
		`lakegate_decisions_total{outcome="denied"}`, "lakegate_sessions", "lakegate_policy_version"} {
		require.Contains(t, s, m)
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	p := startPlanner(t, keys(t), t.TempDir())
	root := p.token("root", "admin")
	p.mustSQL(root, samplePolicy)
	before := p.mustSQL(root, "SHOW ROLES; SHOW GRANTS TO ROLE analyst")
	_, w := p.post(root, "WhoAmI", map[string]any{})
	version := w["policyVersion"]

	// Malformed SQL: line, column, found, expected; nothing applied.
	r := p.sql(root, "CREATE ROLE r1;\nGRANT SELEC ON TABLE okera_sample.users TO ROLE r1")
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "line 2, column 7")
	require.Contains(t, r.stderr, "SELEC")
	require.Contains(t, r.stderr, "nothing was changed")

	// Semantic errors in a batch: the earlier statements are not applied.
	for stmt, want := range map[string]string{
		"CREATE ROLE r2; GRANT SELECT ON TABLE okera_sample.users TO ROLE nosuchrole":                                     "role nosuchrole does not exist",
		"CREATE ROLE r3; GRANT SELECT ON TABLE okera_sample.nosuchtable TO ROLE r3":                                       "does not exist",
		"CREATE ROLE r4; GRANT SELECT ON DATABASE nosuchdb TO ROLE r4":                                                    "database nosuchdb does not exist",
		"CREATE ROLE r5; GRANT SELECT(nope) ON TABLE okera_sample.users TO ROLE r5":                                       "no column nope",
		"CREATE ROLE r6; GRANT SELECT ON TABLE okera_sample.users TRANSFORM pii.credit_card WITH no_such_fn() TO ROLE r6": "unknown function",
		"CREATE ROLE r7; GRANT SELECT ON TABLE okera_sample.users HAVING ATTRIBUTE IN (x.y) TO ROLE r7":                   "attribute x.y does not exist",
		"CREATE ROLE analyst":                        "already exists",
		"REVOKE ROLE analyst FROM GROUP nobody":      "not granted",
		"REVOKE SELECT ON CATALOG FROM ROLE analyst": "no such grant",
	} {
		r := p.sql(root, stmt)
		require.NotEqual(t, 0, r.code, stmt)
		require.Contains(t, r.stderr, want, stmt)
		require.Contains(t, r.stderr, "nothing was changed", stmt)
	}

	// A non-admin may not grant, create roles or tag columns.
	alice := p.token("alice", "analysts")
	for _, stmt := range []string{
		"GRANT SELECT ON TABLE okera_sample.users TO ROLE analyst",
		"CREATE ROLE mine",
		"GRANT ROLE analyst TO GROUP everyone",
		"ALTER TABLE okera_sample.users ADD COLUMN ATTRIBUTE uid pii.credit_card",
		"CREATE DATABASE mine",
	} {
		r := p.sql(alice, stmt)
		require.NotEqual(t, 0, r.code, stmt)
		require.Contains(t, strings.ToLower(r.stderr), "permission", stmt)
	}

	require.Equal(t, before, p.mustSQL(root, "SHOW ROLES; SHOW GRANTS TO ROLE analyst"))
	_, w = p.post(root, "WhoAmI", map[string]any{})
	require.Equal(t, version, w["policyVersion"], "no statement above may bump the policy version")

	// Unknown table in Authorize: denied for non-admins, with the reason.
	code, body := p.post(alice, "Authorize", map[string]any{"objects": []any{
		map[string]any{"database": "nowhere", "table": "nothing", "columns": []any{map[string]any{"name": "a"}}}}})
	require.Equal(t, 200, code)
	require.Nil(t, dig(body, "decisions", 0, "allowed"))
	require.Contains(t, dig(body, "decisions", 0, "reason"), "has not seen this table")

	// Oversized request: refused.
	big := bytes.Repeat([]byte("x"), 5<<20)
	code, _ = p.post(alice, "Authorize", []byte(`{"statement":"`+string(big)+`"}`))
	require.NotEqual(t, 200, code)
	require.Less(t, code, 500)

	// Empty and malformed Authorize requests.
	code, body = p.post(alice, "Authorize", map[string]any{})
	require.Equal(t, 400, code)
	require.Contains(t, body["message"], "no objects")
	code, _ = p.post(alice, "Authorize", []byte(`{"objects": [`))
	require.Equal(t, 400, code)
}

func TestTokensAreCheckedAndAudited(t *testing.T) {
	k := keys(t)
	data := t.TempDir()
	p := startPlanner(t, k, data)
	other := keys(t)
	forged := strings.TrimSpace(mustRun(t, nil, "token", "--key", filepath.Join(other, "jwt-private.pem"), "--user", "root", "--groups", "admin"))
	signer, err := authn.LoadPrivateKey(filepath.Join(k, "jwt-private.pem"))
	require.NoError(t, err)
	expired, err := authn.SignToken(signer, authn.TokenSpec{User: "root", Groups: []string{"admin"}, TTL: time.Hour}, time.Now().Add(-3*time.Hour))
	require.NoError(t, err)
	selfSigned := strings.TrimSpace(mustRun(t, nil, "token", "--self-signed", "--user", "root", "--groups", "admin"))
	for name, tok := range map[string]string{"forged": forged, "expired": expired, "garbage": "not.a.jwt", "self-signed": selfSigned} {
		code, body := p.post(tok, "WhoAmI", map[string]any{})
		require.Equal(t, 401, code, name)
		require.Equal(t, "unauthenticated", body["code"], name)
		r := p.sql(tok, "SHOW ROLES")
		require.NotEqual(t, 0, r.code, name)
		require.Contains(t, r.stderr, "refused the token", name)
	}
	code, _ := p.post("", "WhoAmI", map[string]any{})
	require.Equal(t, 401, code)

	require.NoError(t, p.stopErr(), "SIGTERM stops the planner cleanly\n%s", p.log.String())
	out := mustRun(t, nil, "audit", "--data-dir", data, "--denied")
	require.GreaterOrEqual(t, strings.Count(out, `"statement_type":"AUTHENTICATE"`), 9)
	require.Contains(t, out, `"auth_failure":"expired"`)
	require.NotContains(t, out, forged, "tokens never reach the audit log")
}

func TestSelfSignedNeedsTheInsecureFlag(t *testing.T) {
	p := startPlanner(t, keys(t), t.TempDir(), "--insecure-accept-self-signed")
	require.Contains(t, p.log.String(), "INSECURE")
	tok := strings.TrimSpace(mustRun(t, nil, "token", "--self-signed", "--user", "poc-user"))
	r := p.cli(tok, "whoami")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "poc-user")
	require.Contains(t, r.stdout, "self-signed")
}

func TestStatePersistsAcrossRestart(t *testing.T) {
	k, data := keys(t), t.TempDir()
	p := startPlanner(t, k, data)
	root := p.token("root", "admin")
	p.mustSQL(root, samplePolicy+"; CREATE DATABASE sales; CREATE TABLE sales.orders (id bigint, amount decimal(10,2), note string) LOCATION 's3://lake/sales/orders'; CREATE ATTRIBUTE fin.amount; ALTER TABLE sales.orders ADD COLUMN ATTRIBUTE amount fin.amount")
	before := p.mustSQL(root, "SHOW ROLES; SHOW GRANTS TO ROLE analyst; SHOW TABLES IN sales; SHOW ATTRIBUTES")
	require.NoError(t, p.stopErr())
	p.start()
	require.Equal(t, before, p.mustSQL(root, "SHOW ROLES; SHOW GRANTS TO ROLE analyst; SHOW TABLES IN sales; SHOW ATTRIBUTES"))
	// okera_sample is created on first start only: dropping it sticks.
	p.mustSQL(root, "DROP DATABASE okera_sample CASCADE")
	require.NoError(t, p.stopErr())
	p.start()
	require.NotContains(t, p.mustSQL(root, "SHOW DATABASES"), "okera_sample")
}

func TestCorruptDataDirRefusesToStart(t *testing.T) {
	k, data := keys(t), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(data, "lakegate.db"), bytes.Repeat([]byte("garbage!"), 1024), 0o600))
	r := run(t, nil, "serve", "--listen", freePort(t), "--data-dir", data, "--jwt-public-key", filepath.Join(k, "jwt-public.pem"))
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "lakegate.db")
}

func TestServeNeedsAKeySource(t *testing.T) {
	r := run(t, nil, "serve", "--listen", freePort(t), "--data-dir", t.TempDir())
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "--jwt-public-key")
}

func TestEnvironmentFallbacks(t *testing.T) {
	k, data := keys(t), t.TempDir()
	addr := freePort(t)
	p := &planner{t: t, addr: addr, dataDir: data, keys: k, args: []string{"serve"}}
	p.startWithEnv([]string{"LAKEGATE_LISTEN=" + addr, "LAKEGATE_DATA_DIR=" + data,
		"LAKEGATE_JWT_PUBLIC_KEY=" + filepath.Join(k, "jwt-public.pem"), "LAKEGATE_ADMIN_GROUP=ops"})
	t.Cleanup(p.stop)
	r := p.cli(p.token("olga", "ops"), "whoami")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "admin:  true")
	// --planner without a port means 12050; an explicit flag beats the environment.
	r = run(t, []string{"OKERA_PLANNER=127.0.0.1:1", "OKERA_TOKEN=" + p.token("olga", "ops")}, "whoami", "--planner", addr)
	require.Equal(t, 0, r.code, r.stderr)
	r = run(t, []string{"OKERA_PLANNER=127.0.0.1:1", "OKERA_TOKEN=x"}, "whoami")
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "could not be reached")
}

func TestListingsAreFiltered(t *testing.T) {
	p := startPlanner(t, keys(t), t.TempDir())
	root := p.token("root", "admin")
	p.mustSQL(root, samplePolicy+"; CREATE DATABASE hr; CREATE TABLE hr.salaries (name string, pay bigint)")
	alice, bob := p.token("alice", "analysts"), p.token("bob")
	require.Contains(t, p.mustSQL(root, "SHOW DATABASES"), "hr")
	out := p.mustSQL(alice, "SHOW DATABASES")
	require.Contains(t, out, "okera_sample")
	require.NotContains(t, out, "hr")
	require.Contains(t, p.mustSQL(alice, "SHOW TABLES IN okera_sample"), "users")
	require.NotContains(t, p.mustSQL(bob, "SHOW TABLES IN okera_sample"), "users")
	r := p.sql(bob, "SHOW TABLES IN hr")
	require.NotEqual(t, 0, r.code)
	code, body := p.post(bob, "ListTables", map[string]any{"database": "hr"})
	require.Equal(t, 404, code, body)
	code, body = p.post(alice, "ListDatabases", map[string]any{})
	require.Equal(t, 200, code)
	require.Equal(t, []any{"okera_sample"}, body["databases"])
	require.Contains(t, p.mustSQL(alice, "SHOW CURRENT ROLES"), "analyst")
	r = p.sql(bob, "SHOW GRANTS TO ROLE analyst")
	require.NotEqual(t, 0, r.code)
}

func TestSessionTableEvictionNeverFails(t *testing.T) {
	p := startPlanner(t, keys(t), t.TempDir(), "--max-sessions", "100")
	root := p.token("root", "admin")
	p.mustSQL(root, samplePolicy)
	alice := p.token("alice", "analysts")
	for i := 0; i < 2000; i++ {
		code, body := p.post(alice, "Authorize", map[string]any{"sessionId": "session-" + strconv.Itoa(i%1000), "objects": []any{
			map[string]any{"database": "okera_sample", "table": "users", "columns": []any{map[string]any{"name": "ccn"}}}}})
		require.Equal(t, 200, code, body)
		require.Equal(t, true, dig(body, "decisions", 0, "allowed"))
	}
	_, metrics := p.get("/metrics")
	require.Contains(t, metrics, "lakegate_session_evictions_total")
}
