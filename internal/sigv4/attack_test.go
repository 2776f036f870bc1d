package sigv4_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lakegate/lakegate/internal/sigv4"
)

func readAll(r io.Reader) ([]byte, error) {
	var b bytes.Buffer
	_, err := io.CopyBuffer(&b, r, make([]byte, 1000))
	return b.Bytes(), err
}

func signedGet(t *testing.T, url string, at time.Time) *http.Request {
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	signSDK(t, req, sigv4.EmptySHA256, at)
	return req
}

// Every check with the attack it stops.
func TestAttacks(t *testing.T) {
	s := newServer(t)
	now := time.Now().UTC()
	url := s.URL + "/bucket/granted/file.parquet"

	t.Run("wrong secret", func(t *testing.T) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("X-Amz-Content-Sha256", sigv4.EmptySHA256)
		bad := creds
		bad.SecretAccessKey = "not-the-secret"
		require.NoError(t, s3Signer().SignHTTP(t.Context(), bad, req, sigv4.EmptySHA256, "s3", testRegion, now))
		require.Equal(t, sigv4.CodeSignatureDoesNotMatch, code(t, s.do(t, req).err))
	})
	t.Run("unknown key", func(t *testing.T) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("X-Amz-Content-Sha256", sigv4.EmptySHA256)
		other := creds
		other.AccessKeyID = "LGNOSUCHKEY"
		require.NoError(t, s3Signer().SignHTTP(t.Context(), other, req, sigv4.EmptySHA256, "s3", testRegion, now))
		require.Equal(t, sigv4.CodeInvalidAccessKeyID, code(t, s.do(t, req).err))
	})
	t.Run("anonymous", func(t *testing.T) {
		req, _ := http.NewRequest("GET", url, nil)
		require.Equal(t, sigv4.CodeAccessDenied, code(t, s.do(t, req).err))
	})
	t.Run("path changed after signing", func(t *testing.T) {
		req := signedGet(t, url, now)
		req.URL.Path = "/bucket/secret/file.parquet"
		req.URL.RawPath = ""
		require.Equal(t, sigv4.CodeSignatureDoesNotMatch, code(t, s.do(t, req).err))
	})
	t.Run("path traversal spelled differently", func(t *testing.T) {
		req := signedGet(t, s.URL+"/bucket/granted/..%2Fsecret", now)
		o := s.do(t, req)
		require.NoError(t, o.err) // the signature is fine: it signs what was sent ...
		require.Equal(t, "/bucket/granted/..%2Fsecret", o.v.RawPath)
		req = signedGet(t, s.URL+"/bucket/granted/..%2Fsecret", now)
		req.URL.RawPath = "/bucket/granted/../secret" // ... and another spelling is another request
		req.URL.Path = "/bucket/granted/../secret"
		req.URL.Opaque = "//" + req.URL.Host + "/bucket/granted/../secret"
		require.Equal(t, sigv4.CodeSignatureDoesNotMatch, code(t, s.do(t, req).err))
	})
	t.Run("query parameter added", func(t *testing.T) {
		req := signedGet(t, url, now)
		req.URL.RawQuery = "acl="
		require.Equal(t, sigv4.CodeSignatureDoesNotMatch, code(t, s.do(t, req).err))
	})
	t.Run("signed header changed", func(t *testing.T) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Range", "bytes=0-9")
		signSDK(t, req, sigv4.EmptySHA256, now)
		req.Header.Set("Range", "bytes=0-99999")
		require.Equal(t, sigv4.CodeSignatureDoesNotMatch, code(t, s.do(t, req).err))
	})
	t.Run("unsigned x-amz header added", func(t *testing.T) {
		req := signedGet(t, url, now)
		req.Header.Set("X-Amz-Copy-Source", "/bucket/secret/file")
		err := s.do(t, req).err
		require.Equal(t, sigv4.CodeAccessDenied, code(t, err))
		require.Contains(t, err.Error(), "not signed")
	})
	t.Run("skewed clock, both ways", func(t *testing.T) {
		for _, d := range []time.Duration{-16 * time.Minute, 16 * time.Minute} {
			req := signedGet(t, url, now.Add(d))
			require.Equal(t, sigv4.CodeRequestTimeTooSkewed, code(t, s.do(t, req).err))
		}
		req := signedGet(t, url, now.Add(-14*time.Minute))
		require.NoError(t, s.do(t, req).err)
	})
	t.Run("replay of a captured request outside its window", func(t *testing.T) {
		req := signedGet(t, url, now)
		require.NoError(t, s.do(t, req).err)
		s.setNow(now.Add(16 * time.Minute))
		defer s.setNow(time.Now())
		replay, _ := http.NewRequest("GET", url, nil)
		replay.Header = req.Header.Clone()
		require.Equal(t, sigv4.CodeRequestTimeTooSkewed, code(t, s.do(t, replay).err))
	})
	t.Run("presigned URL expired, not yet valid, tampered", func(t *testing.T) {
		req, _ := http.NewRequest("GET", url, nil)
		u := presignSDK(t, req, now.Add(-2*time.Hour), time.Hour)
		get := func(u string) error {
			r, _ := http.NewRequest("GET", u, nil)
			return s.do(t, r).err
		}
		err := get(u)
		require.Equal(t, sigv4.CodeAccessDenied, code(t, err))
		require.Contains(t, err.Error(), "expired")

		req, _ = http.NewRequest("GET", url, nil)
		u = presignSDK(t, req, now.Add(time.Hour), time.Hour)
		require.Equal(t, sigv4.CodeAccessDenied, code(t, get(u)))

		req, _ = http.NewRequest("GET", url, nil)
		u = presignSDK(t, req, now, time.Hour)
		require.NoError(t, get(u))
		require.Equal(t, sigv4.CodeSignatureDoesNotMatch, code(t, get(strings.Replace(u, "granted", "secret", 1))))
		require.Equal(t, sigv4.CodeSignatureDoesNotMatch, code(t, get(strings.Replace(u, "X-Amz-Expires=3600", "X-Amz-Expires=604800", 1))))
		require.Equal(t, sigv4.CodeAuthorizationQuery, code(t, get(strings.Replace(u, "X-Amz-Expires=3600", "X-Amz-Expires=604801", 1))))
		require.Equal(t, sigv4.CodeAuthorizationQuery, code(t, get(u+"&X-Amz-Credential=other")))
	})
	t.Run("repeated query parameter or header the proxy reads", func(t *testing.T) {
		// Signed as sent: the signature is fine, the request is ambiguous.
		req := signedGet(t, s.URL+"/bucket?list-type=2&prefix=granted%2F&prefix=secret%2F", now)
		err := s.do(t, req).err
		require.Equal(t, sigv4.CodeInvalidArgument, code(t, err))
		require.Contains(t, err.Error(), `"prefix" appears more than once`)
		req, _ = http.NewRequest("PUT", url, nil)
		req.Header.Add("X-Amz-Copy-Source", "/bucket/granted/a")
		req.Header.Add("X-Amz-Copy-Source", "/bucket/secret/b")
		signSDK(t, req, sigv4.EmptySHA256, now)
		require.Equal(t, sigv4.CodeInvalidArgument, code(t, s.do(t, req).err))
		// Repeated user metadata is forwarded as sent, not read by the proxy: fine.
		req, _ = http.NewRequest("PUT", url, nil)
		req.Header.Add("X-Amz-Meta-A", "1")
		req.Header.Add("X-Amz-Meta-A", "2")
		signSDK(t, req, sigv4.EmptySHA256, now)
		require.NoError(t, s.do(t, req).err)
	})
	t.Run("signed payload does not match the body", func(t *testing.T) {
		body := []byte("the real body")
		req, _ := http.NewRequest("PUT", url, bytes.NewReader([]byte("a forged body")))
		signSDK(t, req, sha(body), now)
		o := s.do(t, req)
		require.NoError(t, o.err)
		require.Equal(t, sigv4.CodeContentSHA256Mismatch, code(t, o.berr))
		require.Empty(t, o.body, "no byte of an unverified body may come out")
	})
	t.Run("empty body with a wrong hash", func(t *testing.T) {
		req, _ := http.NewRequest("GET", url, nil)
		signSDK(t, req, sha([]byte("x")), now)
		require.Equal(t, sigv4.CodeContentSHA256Mismatch, code(t, s.do(t, req).err))
	})
	t.Run("session token", func(t *testing.T) {
		req, _ := http.NewRequest("GET", url, nil)
		tok := creds
		tok.SessionToken = "tok"
		req.Header.Set("X-Amz-Content-Sha256", sigv4.EmptySHA256)
		require.NoError(t, s3Signer().SignHTTP(t.Context(), tok, req, sigv4.EmptySHA256, "s3", testRegion, now))
		require.Equal(t, sigv4.CodeInvalidToken, code(t, s.do(t, req).err))
	})
	t.Run("other service, other algorithm, v2", func(t *testing.T) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("X-Amz-Content-Sha256", sigv4.EmptySHA256)
		require.NoError(t, s3Signer().SignHTTP(t.Context(), creds, req, sigv4.EmptySHA256, "sts", testRegion, now))
		require.Equal(t, sigv4.CodeAuthorizationHeader, code(t, s.do(t, req).err))
		req, _ = http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "AWS "+testKey+":c2lnbmF0dXJl")
		require.Equal(t, sigv4.CodeInvalidRequest, code(t, s.do(t, req).err))
		req, _ = http.NewRequest("GET", url+"?AWSAccessKeyId="+testKey+"&Signature=c2ln&Expires=1", nil)
		require.Equal(t, sigv4.CodeInvalidRequest, code(t, s.do(t, req).err))
	})
	t.Run("malformed authorization headers", func(t *testing.T) {
		sig := strings.Repeat("a", 64)
		for _, h := range []string{
			"AWS4-HMAC-SHA256",
			"AWS4-HMAC-SHA256 Credential=" + testKey + "/20200101/us-east-1/s3/aws4_request, SignedHeaders=host",
			"AWS4-HMAC-SHA256 Credential=" + testKey + "/2020010/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + sig,
			"AWS4-HMAC-SHA256 Credential=" + testKey + "/20200101/us-east-1/s3/aws4_request, SignedHeaders=x-amz-date;host, Signature=" + sig,
			"AWS4-HMAC-SHA256 Credential=" + testKey + "/20200101/us-east-1/s3/aws4_request, SignedHeaders=x-amz-date, Signature=" + sig,
			"AWS4-HMAC-SHA256 Credential=" + testKey + "/20200101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + strings.ToUpper(sig),
			"AWS4-HMAC-SHA256 Credential=" + testKey + "/20200101/us-east-1/s3/aws4_request, Credential=x, SignedHeaders=host, Signature=" + sig,
		} {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", h)
			req.Header.Set("X-Amz-Date", "20200101T000000Z")
			require.Equal(t, sigv4.CodeAuthorizationHeader, code(t, s.do(t, req).err), h)
		}
	})
}
