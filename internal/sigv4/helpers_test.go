package sigv4_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/aws/smithy-go/logging"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/stretchr/testify/require"

	"github.com/lakegate/lakegate/internal/sigv4"
)

const (
	testKey    = "LGTESTKEY0000000001"
	testSecret = "s3cr3t/With+Chars=0123456789abcdefghij"
	testRegion = "us-east-1"
)

func secrets(m map[string]string) sigv4.SecretFunc {
	return func(id string) (string, error) {
		if s, ok := m[id]; ok {
			return s, nil
		}
		return "", &sigv4.Error{Status: 403, Code: sigv4.CodeInvalidAccessKeyID, Message: "unknown key"}
	}
}

var defaultSecrets = secrets(map[string]string{testKey: testSecret})

// outcome is what the server saw for one request.
type outcome struct {
	v    *sigv4.Verified
	err  error
	body []byte
	berr error
}

// server runs Verify on every request at the clock now() and reports it.
type server struct {
	*httptest.Server
	mu   sync.Mutex
	now  time.Time
	last outcome
	fn   sigv4.SecretFunc
}

func newServer(t testing.TB) *server {
	s := &server{now: time.Now(), fn: defaultSecrets}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		now, fn := s.now, s.fn
		s.mu.Unlock()
		var o outcome
		o.v, o.err = sigv4.Verify(r, now, fn)
		if o.err != nil && os.Getenv("LAKEGATE_DEBUG_SIGV4") != "" {
			println("MINE:\n" + sigv4.DebugCanonical(r))
		}
		if o.err == nil {
			o.body, o.berr = io.ReadAll(o.v.Body)
		}
		s.mu.Lock()
		s.last = o
		s.mu.Unlock()
		w.WriteHeader(204)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) setNow(t time.Time) { s.mu.Lock(); s.now = t; s.mu.Unlock() }

// do sends req and returns what the server saw.
func (s *server) do(t testing.TB, req *http.Request) outcome {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

var creds = aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}

func s3Signer() *v4.Signer {
	return v4.NewSigner(func(o *v4.SignerOptions) {
		o.DisableURIPathEscaping = true
		if os.Getenv("LAKEGATE_DEBUG_SIGV4") != "" {
			o.LogSigning = true
			o.Logger = logging.LoggerFunc(func(c logging.Classification, f string, v ...interface{}) { println(fmt.Sprintf(f, v...)) })
		}
	})
}

// signSDK signs req with the AWS SDK for Go's signer as its S3 client does.
func signSDK(t testing.TB, req *http.Request, payload string, at time.Time) {
	t.Helper()
	req.Header.Set("X-Amz-Content-Sha256", payload)
	require.NoError(t, s3Signer().SignHTTP(context.Background(), creds, req, payload, "s3", testRegion, at))
}

func presignSDK(t testing.TB, req *http.Request, at time.Time, expires time.Duration) string {
	t.Helper()
	u, _ := presignSDKHeaders(t, req, at, expires)
	return u
}

// presignSDKHeaders presigns req and returns the URL and the headers the
// caller must send with it.
func presignSDKHeaders(t testing.TB, req *http.Request, at time.Time, expires time.Duration) (string, http.Header) {
	t.Helper()
	q := req.URL.Query()
	q.Set("X-Amz-Expires", itoa(int(expires/time.Second)))
	req.URL.RawQuery = q.Encode()
	u, h, err := s3Signer().PresignHTTP(context.Background(), creds, req, sigv4.UnsignedPayload, "s3", testRegion, at)
	require.NoError(t, err)
	return u, h
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{digits[i%10]}, b...)
	}
	return string(b)
}

func code(t testing.TB, err error) string {
	t.Helper()
	require.Error(t, err)
	e, ok := err.(*sigv4.Error)
	require.True(t, ok, "error %T %v is not a *sigv4.Error", err, err)
	return e.Code
}
