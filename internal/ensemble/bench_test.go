package ensemble

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// BenchmarkHandlerGet is the proxy's own work for one 4 KiB GET with a
// cached (here: local) decision: verify, classify, decide, audit, re-sign,
// forward to an in-process upstream and relay. No client network hop.
func BenchmarkHandlerGet(b *testing.B) {
	t := &testing.T{}
	f := newFixture(t)
	defer f.proxy.Close()
	body := strings.Repeat("x", 4096)
	req, _ := http.NewRequest("PUT", f.upstream.URL+"/lake/open/small", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	c, err := f.keys.Issue("alice", []string{"analysts"}, time.Hour, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	creds := aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}
	mk := func() *http.Request {
		r, _ := http.NewRequest("GET", "http://proxy/lake/open/small", nil)
		r.RequestURI = "/lake/open/small"
		r.Header.Set("X-Amz-Content-Sha256", hexSum(nil))
		_ = signer.SignHTTP(context.Background(), creds, r, hexSum(nil), "s3", "us-east-1", time.Now())
		return r
	}
	r := mk()
	f.now = time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		f.srv.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
		_, _ = io.Copy(io.Discard, w.Body)
	}
}
