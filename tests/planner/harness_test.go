// Package planner_test drives the real lakegate binary: a planner process on
// a free port with its embedded store, and the CLI against it.
package planner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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

// result of one CLI run.
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

// cleanEnv is the environment without any lakegate or Okera settings.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LAKEGATE_") || strings.HasPrefix(kv, "OKERA_") {
			continue
		}
		out = append(out, kv)
	}
	return out
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

// planner is a running `lakegate serve`.
type planner struct {
	t       *testing.T
	addr    string
	dataDir string
	keys    string
	args    []string
	cmd     *exec.Cmd
	log     *syncBuffer
	done    chan error
}

// keys writes a key pair into a temp dir.
func keys(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "k")
	mustRun(t, nil, "keygen", "--out", dir)
	return dir
}

func startPlanner(t *testing.T, keyDir, dataDir string, extra ...string) *planner {
	t.Helper()
	p := &planner{t: t, addr: freePort(t), dataDir: dataDir, keys: keyDir}
	p.args = append([]string{"serve", "--listen", p.addr, "--data-dir", dataDir, "--jwt-public-key", filepath.Join(keyDir, "jwt-public.pem")}, extra...)
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *planner) start() { p.startWithEnv(nil) }

func (p *planner) startWithEnv(env []string) {
	t := p.t
	p.log = &syncBuffer{}
	p.cmd = exec.Command(lakegateBin, p.args...)
	p.cmd.Env = append(cleanEnv(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	require.NoError(t, p.cmd.Start())
	p.done = make(chan error, 1)
	go func() { p.done <- p.cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			t.Fatalf("planner exited at start: %v\n%s", err, p.log.String())
		default:
		}
		resp, err := http.Get("http://" + p.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("planner not ready in 30s\n%s", p.log.String())
}

// stop sends SIGTERM and waits; returns the exit error.
func (p *planner) stopErr() error {
	if p.cmd == nil || p.cmd.Process == nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.cmd = nil
		return err
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		p.cmd = nil
		return errors.New("planner did not stop within 20s of SIGTERM")
	}
}

func (p *planner) stop() { _ = p.stopErr() }

func (p *planner) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	p.cmd = nil
}

func (p *planner) token(user string, groups ...string) string {
	args := []string{"token", "--key", filepath.Join(p.keys, "jwt-private.pem"), "--user", user}
	if len(groups) > 0 {
		args = append(args, "--groups", strings.Join(groups, ","))
	}
	return strings.TrimSpace(mustRun(p.t, nil, args...))
}

// cli runs a client command against this planner with token.
func (p *planner) cli(token string, args ...string) result {
	return run(p.t, []string{"OKERA_PLANNER=" + p.addr, "OKERA_TOKEN=" + token}, args...)
}

func (p *planner) sql(token, stmts string) result {
	return p.cli(token, "sql", stmts)
}

func (p *planner) mustSQL(token, stmts string) string {
	p.t.Helper()
	r := p.sql(token, stmts)
	require.Equal(p.t, 0, r.code, "sql %q\nstdout: %s\nstderr: %s", stmts, r.stdout, r.stderr)
	return r.stdout
}

// post sends a Connect JSON request; returns status and decoded body.
func (p *planner) post(token, method string, body any) (int, map[string]any) {
	p.t.Helper()
	code, out, err := p.tryPost(token, method, body)
	require.NoError(p.t, err)
	return code, out
}

// tryPost is post for callers that expect the planner may be gone.
func (p *planner) tryPost(token, method string, body any) (int, map[string]any, error) {
	var r io.Reader
	switch b := body.(type) {
	case []byte:
		r = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(enc)
	}
	req, err := http.NewRequest("POST", "http://"+p.addr+"/lakegate.v1.PlannerService/"+method, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return 0, nil, fmt.Errorf("body %q: %w", raw, err)
		}
	}
	return resp.StatusCode, out, nil
}

func (p *planner) get(path string) (int, string) {
	resp, err := http.Get("http://" + p.addr + path)
	require.NoError(p.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func jsonOf(t *testing.T, s string) map[string]any {
	t.Helper()
	out := map[string]any{}
	require.NoError(t, json.Unmarshal([]byte(s), &out), "not JSON: %s", s)
	return out
}

func dig(m any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			mm, _ := m.(map[string]any)
			m = mm[k]
		case int:
			aa, _ := m.([]any)
			if k >= len(aa) {
				return nil
			}
			m = aa[k]
		}
	}
	return m
}

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
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
