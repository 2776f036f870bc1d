package ensemble

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/stretchr/testify/require"
)

// GetObject from a plain-HTTP upstream takes the splice path: bodies arrive
// whole and exact, ranges and errors pass through, connections are reused
// only when their response was read to its end.
func TestSplicePath(t *testing.T) {
	f := newFixture(t)
	require.NotNil(t, f.srv.upstream.raw, "a plain-HTTP upstream gets the splice path")
	dials := &f.srv.upstream.raw.dials
	c, err := f.keys.Issue("alice", []string{"analysts"}, time.Hour, time.Now())
	require.NoError(t, err)
	empty := hexSum(nil)
	big := make([]byte, 3<<20+12345)
	_, _ = rand.Read(big)
	small := []byte("a small object")
	for path, body := range map[string][]byte{"/lake/open/big": big, "/lake/open/small": small} {
		resp := f.signed(t, c, "PUT", path, body, hexSum(body))
		require.Equal(t, 200, resp.StatusCode, codeOf(t, resp))
	}
	get := func(path string, header map[string]string) (*http.Response, []byte) {
		req, err := http.NewRequest("GET", f.proxy.URL+path, nil)
		require.NoError(t, err)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		req.Header.Set("X-Amz-Content-Sha256", empty)
		s := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
		require.NoError(t, s.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}, req, empty, "s3", "us-east-1", time.Now()))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, b
	}

	dials.Store(0)
	for i := 0; i < 10; i++ {
		resp, b := get("/lake/open/big", nil)
		require.Equal(t, 200, resp.StatusCode)
		require.True(t, bytes.Equal(big, b), "spliced body differs (got %d bytes)", len(b))
		require.Equal(t, resp.Header.Get("Content-Length"), "3158073")
		resp, b = get("/lake/open/small", nil)
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, small, b)
	}
	require.LessOrEqual(t, dials.Load(), int64(2), "upstream connections are reused")

	t.Run("ranges, spliced and copied", func(t *testing.T) {
		resp, b := get("/lake/open/big", map[string]string{"Range": "bytes=1000-1999999"})
		require.Equal(t, 206, resp.StatusCode)
		require.True(t, bytes.Equal(big[1000:2000000], b))
		resp, b = get("/lake/open/big", map[string]string{"Range": "bytes=5-9"})
		require.Equal(t, 206, resp.StatusCode)
		require.Equal(t, big[5:10], b)
	})

	t.Run("errors pass through and keep the connection usable", func(t *testing.T) {
		resp, b := get("/lake/open/missing", nil)
		require.Equal(t, 404, resp.StatusCode)
		require.Contains(t, string(b), "NoSuchKey")
		resp, b = get("/lake/open/small", nil)
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, small, b)
	})

	t.Run("a client that leaves mid-body does not give back a half-read connection", func(t *testing.T) {
		for i := 0; i < 5; i++ {
			req, err := http.NewRequest("GET", f.proxy.URL+"/lake/open/big", nil)
			require.NoError(t, err)
			req.Header.Set("X-Amz-Content-Sha256", empty)
			s := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
			require.NoError(t, s.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}, req, empty, "s3", "us-east-1", time.Now()))
			tr := &http.Transport{}
			resp, err := (&http.Client{Transport: tr}).Do(req)
			require.NoError(t, err)
			_, _ = io.CopyN(io.Discard, resp.Body, 100<<10)
			resp.Body.Close()
			tr.CloseIdleConnections()
		}
		// Every later GET still gets exactly its own bytes.
		for i := 0; i < 5; i++ {
			resp, b := get("/lake/open/big", nil)
			require.Equal(t, 200, resp.StatusCode)
			require.True(t, bytes.Equal(big, b))
		}
	})

	t.Run("an upstream that closes its connections", func(t *testing.T) {
		f.upstream.Config.SetKeepAlivesEnabled(false)
		defer f.upstream.Config.SetKeepAlivesEnabled(true)
		for i := 0; i < 3; i++ {
			resp, b := get("/lake/open/big", nil)
			require.Equal(t, 200, resp.StatusCode)
			require.True(t, bytes.Equal(big, b))
		}
	})

	t.Run("an idle connection the upstream dropped is replaced", func(t *testing.T) {
		resp, _ := get("/lake/open/small", nil)
		require.Equal(t, 200, resp.StatusCode)
		f.upstream.CloseClientConnections()
		resp, b := get("/lake/open/small", nil)
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, small, b)
	})
}
