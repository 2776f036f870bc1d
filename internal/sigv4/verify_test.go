package sigv4_test

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lakegate/lakegate/internal/sigv4"
)

// keyAlphabet mixes what real object keys hold with what trips encoders.
var keyAlphabet = []string{
	"a", "b", "Z", "0", "9", "-", "_", ".", "~", "/", "/", " ", "+", "!", "$", "&", "'", "(", ")", "*",
	",", ";", "=", ":", "@", "%", "#", "?", "[", "]", "\"", "<", ">", "^", "`", "{", "}", "|", "\\",
	"é", "ü", "日本", "𝄞", "\u00a0", "\u2215", "\uff0f",
}

func randString(r *rand.Rand, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(keyAlphabet[r.IntN(len(keyAlphabet))])
	}
	return b.String()
}

// randRequest builds a request the way the SDK's S3 client does: the key
// encoded the AWS way in RawPath, random query parameters and headers.
func randRequest(t *testing.T, r *rand.Rand, base string) (*http.Request, []byte) {
	methods := []string{"GET", "PUT", "HEAD", "DELETE", "POST"}
	method := methods[r.IntN(len(methods))]
	key := "bucket-" + itoa(r.IntN(10)) + "/" + randString(r, 1+r.IntN(20))
	u, err := url.Parse(base)
	require.NoError(t, err)
	u.Path = "/" + key
	u.RawPath = "/" + sigv4.Escape(key, true)
	q := url.Values{}
	for i := r.IntN(4); i > 0; i-- {
		q.Add(randString(r, 1+r.IntN(5)), randString(r, r.IntN(8)))
	}
	if r.IntN(3) == 0 {
		q.Set("uploads", "")
	}
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	var body []byte
	if method == "PUT" || method == "POST" {
		body = make([]byte, r.IntN(3000))
		for i := range body {
			body[i] = byte(r.IntN(256))
		}
	}
	req, err := http.NewRequest(method, u.String(), bytes.NewReader(body))
	require.NoError(t, err)
	req.URL = u
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	for i := r.IntN(4); i > 0; i-- {
		name := "X-Amz-Meta-" + []string{"a", "b", "Long-Name", "x"}[r.IntN(4)]
		req.Header.Add(name, " "+strings.ReplaceAll(randString(r, 1+r.IntN(6)), "\\", "")+"  x  y ")
	}
	if r.IntN(2) == 0 {
		req.Header.Set("Range", "bytes=0-"+itoa(r.IntN(100)))
	}
	if r.IntN(2) == 0 {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	return req, body
}

// TestSDKSignedRequestsVerify signs random requests with the AWS SDK for
// Go's signer, sends them over real HTTP and verifies them here: the
// canonicaliser must agree with the SDK's, and the body must come out intact.
func TestSDKSignedRequestsVerify(t *testing.T) {
	s := newServer(t)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 400; i++ {
		req, body := randRequest(t, r, s.URL)
		at := time.Now().UTC()
		payload := sigv4.UnsignedPayload
		if i%2 == 0 {
			payload = sha(body)
		}
		signSDK(t, req, payload, at)
		o := s.do(t, req)
		require.NoError(t, o.err, "request %d: %s %s", i, req.Method, req.URL.String())
		require.NoError(t, o.berr)
		require.Equal(t, len(body), len(o.body))
		require.True(t, bytes.Equal(body, o.body))
		require.Equal(t, testKey, o.v.AccessKeyID)
	}
}

func TestSDKPresignedURLsVerify(t *testing.T) {
	s := newServer(t)
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 200; i++ {
		req, _ := randRequest(t, r, s.URL)
		req.Body, req.ContentLength = http.NoBody, 0
		at := time.Now().UTC().Add(-time.Minute)
		signed, headers := presignSDKHeaders(t, req, at, time.Hour)
		preq, err := http.NewRequest(req.Method, signed, nil)
		require.NoError(t, err)
		for k, v := range headers {
			if k != "Host" {
				preq.Header[k] = v
			}
		}
		o := s.do(t, preq)
		require.NoError(t, o.err, "request %d: %s %s", i, req.Method, signed)
		require.True(t, o.v.Presigned)
		for _, p := range o.v.Query {
			require.False(t, strings.HasPrefix(p.Key, "X-Amz-") && p.Key != "X-Amz-Expires" && p.Key != "x-amz-meta-a", "auth parameter %s left in Query", p.Key)
		}
	}
}

// The examples of the S3 SigV4 documentation.
func TestKnownAnswers(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	fn := secrets(map[string]string{"AKIAIOSFODNN7EXAMPLE": secret})
	at := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

	t.Run("GET object with Range", func(t *testing.T) {
		req, _ := http.NewRequest("GET", "http://examplebucket.s3.amazonaws.com/test.txt", nil)
		req.Header.Set("Range", "bytes=0-9")
		req.Header.Set("X-Amz-Content-Sha256", sigv4.EmptySHA256)
		req.Header.Set("X-Amz-Date", "20130524T000000Z")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
		req.Host = "examplebucket.s3.amazonaws.com"
		_, err := sigv4.Verify(req, at, fn)
		require.NoError(t, err)
	})
	t.Run("presigned GET", func(t *testing.T) {
		req, _ := http.NewRequest("GET", "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404", nil)
		_, err := sigv4.Verify(req, at.Add(time.Hour), fn)
		require.NoError(t, err)
		_, err = sigv4.Verify(req, at.Add(86401*time.Second), fn)
		require.Equal(t, sigv4.CodeAccessDenied, code(t, err))
	})
	t.Run("streaming PUT, 64 KiB chunks", func(t *testing.T) {
		data := bytes.Repeat([]byte("a"), 66560)
		sigs := []string{
			"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
			"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
			"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
		}
		var body bytes.Buffer
		body.WriteString("10000;chunk-signature=" + sigs[0] + "\r\n")
		body.Write(data[:65536])
		body.WriteString("\r\n400;chunk-signature=" + sigs[1] + "\r\n")
		body.Write(data[65536:])
		body.WriteString("\r\n0;chunk-signature=" + sigs[2] + "\r\n\r\n")
		require.Equal(t, 66824, body.Len())
		mk := func(b []byte) *http.Request {
			req, _ := http.NewRequest("PUT", "http://s3.amazonaws.com/examplebucket/chunkObject.txt", bytes.NewReader(b))
			req.Header.Set("X-Amz-Date", "20130524T000000Z")
			req.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
			req.Header.Set("Content-Encoding", "aws-chunked")
			req.Header.Set("X-Amz-Decoded-Content-Length", "66560")
			req.Header.Set("Content-Length", "66824")
			req.Header.Set("X-Amz-Content-Sha256", sigv4.StreamingPayload)
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
			return req
		}
		v, err := sigv4.Verify(mk(body.Bytes()), at, fn)
		require.NoError(t, err)
		got, err := readAll(v.Body)
		require.NoError(t, err)
		require.Equal(t, data, got)

		// One flipped byte in the second chunk: the chunk signature fails and
		// the reader never yields the whole payload.
		bad := bytes.Clone(body.Bytes())
		bad[len(bad)-200] ^= 1
		v, err = sigv4.Verify(mk(bad), at, fn)
		require.NoError(t, err)
		got, err = readAll(v.Body)
		require.Equal(t, sigv4.CodeSignatureDoesNotMatch, code(t, err))
		require.Less(t, len(got), len(data))
	})
}
