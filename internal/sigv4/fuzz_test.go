package sigv4_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httputil"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/sigv4"
)

var fuzzTime = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// FuzzVerify feeds raw HTTP requests (seeded with valid SDK-signed, presigned
// and streaming ones) to Verify and reads the body. It must never panic; a
// request it accepts must name a known key; and canonicalisation must hold
// its invariants on whatever path and query the request carries: decoding
// the AWS encoding gives back the input, and the canonical query is stable.
func FuzzVerify(f *testing.F) {
	add := func(req *http.Request) {
		b, err := httputil.DumpRequestOut(req, true)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	get, _ := http.NewRequest("GET", "http://127.0.0.1:5010/bucket/a%20b/c~d.txt?list-type=2&prefix=a%2Fb", nil)
	signSDK(f, get, sigv4.EmptySHA256, fuzzTime)
	add(get)
	put, _ := http.NewRequest("PUT", "http://127.0.0.1:5010/bucket/key", strings.NewReader("hello"))
	signSDK(f, put, sha([]byte("hello")), fuzzTime)
	add(put)
	pre, _ := http.NewRequest("GET", "http://127.0.0.1:5010/bucket/key", nil)
	u := presignSDK(f, pre, fuzzTime, time.Hour)
	pre, _ = http.NewRequest("GET", u, nil)
	add(pre)
	f.Add([]byte("PUT /b/k HTTP/1.1\r\nHost: h\r\nX-Amz-Content-Sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD\r\nX-Amz-Decoded-Content-Length: 3\r\nContent-Length: 10\r\n\r\n3;chunk-si"))

	f.Fuzz(func(t *testing.T, raw []byte) {
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return
		}
		rawPath, rawQuery := sigv4.SplitRequestURI(req)
		if dec, err := sigv4.PathUnescape(rawPath); err == nil {
			enc := sigv4.Escape(dec, true)
			if back, err := sigv4.PathUnescape(enc); err != nil || back != dec {
				t.Fatalf("Escape/PathUnescape do not round-trip %q", dec)
			}
		}
		if params, err := sigv4.ParseQuery(rawQuery); err == nil {
			c := sigv4.CanonicalQuery(params, "")
			again, err := sigv4.ParseQuery(c)
			if err != nil || sigv4.CanonicalQuery(again, "") != c {
				t.Fatalf("canonical query %q is not stable", c)
			}
		}
		v, err := sigv4.Verify(req, fuzzTime, defaultSecrets)
		if err != nil {
			if _, ok := err.(*sigv4.Error); !ok {
				t.Fatalf("Verify returned %T, not *sigv4.Error", err)
			}
			return
		}
		if v.AccessKeyID != testKey {
			t.Fatalf("accepted unknown key %q", v.AccessKeyID)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(v.Body, 1<<20))
	})
}
