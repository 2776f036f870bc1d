package ensemble

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/s3keys"
)

// ruleDecider allows what allow says; err makes every decision fail.
type ruleDecider struct {
	mu    sync.Mutex
	err   error
	allow func(uri string) bool
}

func (d *ruleDecider) Decide(_ context.Context, _ *s3keys.Identity, _ string, checks []check) ([]Decision, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return nil, d.err
	}
	out := make([]Decision, len(checks))
	for i, c := range checks {
		out[i] = Decision{URI: c.uri, Allowed: d.allow(c.uri), Reason: "rule"}
	}
	return out, nil
}

type fixture struct {
	srv      *Server
	proxy    *httptest.Server
	upstream *httptest.Server
	hits     atomic.Int64
	keys     *s3keys.Keys
	decider  *ruleDecider
	now      time.Time
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{now: time.Now()}
	fake := gofakes3.New(s3mem.New()).Server()
	f.upstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(f.upstream.Close)
	req, _ := http.NewRequest("PUT", f.upstream.URL+"/lake", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	f.hits.Store(0)
	dir := t.TempDir()
	rev, err := s3keys.OpenRevocations(dir, 0, nil)
	require.NoError(t, err)
	f.keys, err = s3keys.New([][]byte{bytes.Repeat([]byte{7}, 32)}, rev, 0)
	require.NoError(t, err)
	f.decider = &ruleDecider{allow: func(uri string) bool { return strings.HasPrefix(uri, "s3://lake/open") }}
	f.srv, err = New(Config{Planner: "127.0.0.1:1", Upstream: f.upstream.URL, UpstreamStyle: "path", DataDir: dir, Keys: f.keys,
		UpstreamCredentials: credentials.NewStaticCredentialsProvider("up", "up-secret", ""), Decider: f.decider,
		Now: func() time.Time { return f.now }})
	require.NoError(t, err)
	f.proxy = httptest.NewServer(f.srv)
	t.Cleanup(func() { f.proxy.Close(); f.srv.Close() })
	return f
}

func (f *fixture) signed(t *testing.T, c s3keys.Credentials, method, path string, body []byte, payload string) *http.Response {
	req, err := http.NewRequest(method, f.proxy.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	req.Header.Set("X-Amz-Content-Sha256", payload)
	s := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	require.NoError(t, s.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}, req, payload, "s3", "us-east-1", time.Now()))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	return resp
}

func codeOf(t *testing.T, resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	s := string(b)
	i, j := strings.Index(s, "<Code>"), strings.Index(s, "</Code>")
	if i < 0 {
		return resp.Status
	}
	return s[i+6 : j]
}

func hexSum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestHandlerFailsClosed(t *testing.T) {
	f := newFixture(t)
	c, err := f.keys.Issue("alice", []string{"analysts"}, time.Hour, time.Now())
	require.NoError(t, err)
	empty := hexSum(nil)

	resp := f.signed(t, c, "PUT", "/lake/open/a", []byte("hello"), hexSum([]byte("hello")))
	require.Equal(t, 200, resp.StatusCode, codeOf(t, resp))
	require.Equal(t, int64(1), f.hits.Load())

	t.Run("a denied request never reaches the store", func(t *testing.T) {
		f.hits.Store(0)
		for _, r := range []struct{ method, path string }{{"GET", "/lake/closed/a"}, {"PUT", "/lake/closed/b"}, {"DELETE", "/lake/closed/a"}, {"GET", "/lake?list-type=2"}} {
			resp := f.signed(t, c, r.method, r.path, nil, empty)
			require.Equal(t, "AccessDenied", codeOf(t, resp))
		}
		require.Zero(t, f.hits.Load())
	})
	t.Run("no decision: 503, never data", func(t *testing.T) {
		f.hits.Store(0)
		f.decider.mu.Lock()
		f.decider.err = errors.New("planner down")
		f.decider.mu.Unlock()
		defer func() { f.decider.mu.Lock(); f.decider.err = nil; f.decider.mu.Unlock() }()
		resp := f.signed(t, c, "GET", "/lake/open/a", nil, empty)
		require.Equal(t, 503, resp.StatusCode)
		require.Equal(t, "ServiceUnavailable", codeOf(t, resp))
		require.Zero(t, f.hits.Load())
	})
	t.Run("a body that does not match its signed hash is not stored", func(t *testing.T) {
		resp := f.signed(t, c, "PUT", "/lake/open/forged", []byte("forged body"), hexSum([]byte("real body!!")))
		require.Equal(t, "XAmzContentSHA256Mismatch", codeOf(t, resp))
		resp = f.signed(t, c, "HEAD", "/lake/open/forged", nil, empty)
		resp.Body.Close()
		require.Equal(t, 404, resp.StatusCode)
	})
	t.Run("expired and revoked keys", func(t *testing.T) {
		old, err := f.keys.Issue("alice", nil, time.Minute, time.Now().Add(-2*time.Minute))
		require.NoError(t, err)
		require.Equal(t, "ExpiredToken", codeOf(t, f.signed(t, old, "GET", "/lake/open/a", nil, empty)))
		k, err := f.keys.Issue("alice", nil, time.Hour, time.Now())
		require.NoError(t, err)
		require.NoError(t, f.keys.Revocations().RevokeKey(k.AccessKeyID, k.Expiration, time.Now()))
		require.Equal(t, "InvalidAccessKeyId", codeOf(t, f.signed(t, k, "GET", "/lake/open/a", nil, empty)))
	})
	t.Run("control endpoints are path-style only", func(t *testing.T) {
		f.srv.cfg.VirtualHostDomains = []string{"s3.test"}
		defer func() { f.srv.cfg.VirtualHostDomains = nil }()
		req, _ := http.NewRequest("POST", f.proxy.URL+CredentialsPath, nil)
		req.Host = "lake.s3.test"
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.Equal(t, "AccessDenied", codeOf(t, resp), "on a bucket host it is an (unsigned) S3 request")
	})
	t.Run("decisions and refusals are audited", func(t *testing.T) {
		require.NoError(t, f.srv.audit.Flush())
		seen := map[string]bool{}
		require.NoError(t, audit.Read(f.srv.AuditDir(), audit.Query{}, func(r audit.Record) error {
			seen[r.StatementType+" "+r.Outcome] = true
			return nil
		}))
		require.True(t, seen["S3 PutObject allowed"])
		require.True(t, seen["S3 GetObject denied"])
		require.True(t, seen["S3 GetObject error"])
		require.True(t, seen["AUTHENTICATE denied"])
	})
}
