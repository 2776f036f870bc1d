// Package ensemble_test drives the real lakegate binary: a planner (`lakegate
// serve`) and the S3 proxy (`lakegate ensemble`) as processes on free ports,
// an in-memory S3 (gofakes3) as the upstream, and real S3 clients: the AWS
// SDK for Go v2 and minio-go (streaming signed payloads).
package ensemble_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"
)

var lakegateBin string

func TestMain(m *testing.M) {
	lakegateBin = os.Getenv("LAKEGATE_BIN")
	if lakegateBin == "" {
		dir, err := os.MkdirTemp("", "lakegate-bin")
		if err != nil {
			panic(err)
		}
		lakegateBin = filepath.Join(dir, "lakegate")
		build := exec.Command("go", "build", "-o", lakegateBin, "../../cmd/lakegate")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			panic("build lakegate: " + err.Error())
		}
		code := m.Run()
		os.RemoveAll(dir)
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// cleanEnv is the environment without lakegate, Okera or AWS settings.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LAKEGATE_") || strings.HasPrefix(kv, "OKERA_") || strings.HasPrefix(kv, "AWS_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

type result struct {
	stdout, stderr string
	code           int
}

func run(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, lakegateBin, args...)
	cmd.Env = append(cleanEnv(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

func mustRun(t *testing.T, env []string, args ...string) string {
	t.Helper()
	r := run(t, env, args...)
	require.Equal(t, 0, r.code, "lakegate %v\nstdout: %s\nstderr: %s", args, r.stdout, r.stderr)
	return r.stdout
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is a lakegate process serving on addr.
type proc struct {
	t     *testing.T
	name  string
	addr  string
	args  []string
	env   []string
	ready string
	cmd   *exec.Cmd
	log   *syncBuffer
	done  chan error
}

func (p *proc) start() {
	t := p.t
	p.log = &syncBuffer{}
	p.cmd = exec.Command(lakegateBin, p.args...)
	p.cmd.Env = append(cleanEnv(), p.env...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	require.NoError(t, p.cmd.Start())
	p.done = make(chan error, 1)
	go func() { p.done <- p.cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			t.Fatalf("%s exited at start: %v\n%s", p.name, err, p.log.String())
		default:
		}
		resp, err := http.Get("http://" + p.addr + p.ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s not ready in 30s\n%s", p.name, p.log.String())
}

func (p *proc) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.cmd = nil
}

// world is a planner, an ensemble and an in-memory S3 upstream.
type world struct {
	t        *testing.T
	dir      string
	keys     string
	planner  *proc
	ensemble *proc
	upstream *httptest.Server
	direct   *s3.Client // straight to the upstream, for setup and checks
	vhost    string     // virtual-host domain of the ensemble
	ensDir   string
	svcToken string
	adminTok string
}

const vhostDomain = "s3.lakegate.test"

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, dir: t.TempDir(), vhost: vhostDomain}
	w.upstream = httptest.NewServer(gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(false)).Server())
	t.Cleanup(w.upstream.Close)
	w.direct = s3.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "upstream", SecretAccessKey: "upstream-secret"}, nil
	})}, func(o *s3.Options) { o.BaseEndpoint = aws.String(w.upstream.URL); o.UsePathStyle = true })

	w.keys = filepath.Join(w.dir, "k")
	mustRun(t, nil, "keygen", "--out", w.keys)
	master := filepath.Join(w.dir, "master.key")
	mustRun(t, nil, "ensemble", "keygen", "--out", master)

	w.planner = &proc{t: t, name: "planner", addr: freePort(t), ready: "/readyz"}
	w.planner.args = []string{"serve", "--listen", w.planner.addr, "--data-dir", filepath.Join(w.dir, "planner"),
		"--jwt-public-key", filepath.Join(w.keys, "jwt-public.pem"), "--trusted-proxy", "svc-ensemble"}
	w.planner.start()
	t.Cleanup(w.planner.stop)
	w.svcToken = w.token("svc-ensemble", 24*time.Hour)
	w.adminTok = w.token("root", time.Hour, "admin")

	w.ensDir = filepath.Join(w.dir, "ensemble")
	w.ensemble = &proc{t: t, name: "ensemble", addr: freePort(t), ready: "/_lakegate/healthz"}
	w.ensemble.args = []string{"ensemble", "--listen", w.ensemble.addr, "--planner", w.planner.addr,
		"--upstream", w.upstream.URL, "--upstream-style", "path", "--master-key-file", master,
		"--data-dir", w.ensDir, "--virtual-host", vhostDomain, "--decision-cache-ttl", "2s"}
	w.ensemble.env = []string{"OKERA_TOKEN=" + w.svcToken, "AWS_ACCESS_KEY_ID=upstream", "AWS_SECRET_ACCESS_KEY=upstream-secret", "AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "AWS_EC2_METADATA_DISABLED=true"}
	w.ensemble.start()
	t.Cleanup(w.ensemble.stop)
	return w
}

func (w *world) token(user string, ttl time.Duration, groups ...string) string {
	args := []string{"token", "--key", filepath.Join(w.keys, "jwt-private.pem"), "--user", user, "--ttl", ttl.String()}
	if len(groups) > 0 {
		args = append(args, "--groups", strings.Join(groups, ","))
	}
	return strings.TrimSpace(mustRun(w.t, nil, args...))
}

func (w *world) sql(stmts string) {
	w.t.Helper()
	mustRun(w.t, []string{"OKERA_PLANNER=" + w.planner.addr, "OKERA_TOKEN=" + w.adminTok}, "sql", stmts)
}

type accessKey struct {
	AccessKeyID, SecretAccessKey, Expiration, User string
}

// credentials exchanges a user's JWT through the CLI.
func (w *world) credentials(tok string) accessKey {
	w.t.Helper()
	out := mustRun(w.t, []string{"OKERA_TOKEN=" + tok, "LAKEGATE_ENSEMBLE=http://" + w.ensemble.addr}, "ensemble", "credentials")
	var k accessKey
	require.NoError(w.t, json.Unmarshal([]byte(out), &k), out)
	require.NotEmpty(w.t, k.AccessKeyID)
	return k
}

func (w *world) endpoint() string { return "http://" + w.ensemble.addr }

// client is an AWS SDK for Go v2 S3 client of the proxy, path style.
func (w *world) client(k accessKey) *s3.Client {
	return s3.NewFromConfig(aws.Config{Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey}, nil
		})}, func(o *s3.Options) { o.BaseEndpoint = aws.String(w.endpoint()); o.UsePathStyle = true })
}

// vhostClient addresses buckets as BUCKET.s3.lakegate.test:PORT; every such
// name is dialled to the proxy's loopback address.
func (w *world) vhostClient(k accessKey) *s3.Client {
	_, port, _ := net.SplitHostPort(w.ensemble.addr)
	dialer := &net.Dialer{}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, w.ensemble.addr)
	}}}
	return s3.NewFromConfig(aws.Config{Region: "us-east-1", RetryMaxAttempts: 1, HTTPClient: hc,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey}, nil
		})}, func(o *s3.Options) {
		o.BaseEndpoint = aws.String("http://" + vhostDomain + ":" + port)
		o.UsePathStyle = false
	})
}
