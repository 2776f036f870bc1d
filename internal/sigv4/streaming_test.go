package sigv4_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	md5simd "github.com/minio/md5-simd"
	"github.com/minio/minio-go/v7/pkg/signer"
	"github.com/stretchr/testify/require"

	"github.com/lakegate/lakegate/internal/sigv4"
)

// sha256Hasher is the md5simd.Hasher minio's signer wants, over SHA-256.
type sha256Wrapper struct{ hash.Hash }

func (sha256Wrapper) Close() {}

func sha256Hasher() md5simd.Hasher { return sha256Wrapper{sha256.New()} }

// flipReader flips one bit at offset at of the wire body.
type flipReader struct {
	r   io.ReadCloser
	at  int64
	pos int64
}

func (f *flipReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	for i := 0; i < n; i++ {
		if f.pos+int64(i) == f.at {
			p[i] ^= 1
		}
	}
	f.pos += int64(n)
	return n, err
}

func (f *flipReader) Close() error { return f.r.Close() }

func crc32c(b []byte) string {
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	h.Write(b)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// minioStreaming signs a PUT of data with minio-go's streaming signer (an
// independent implementation of STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]).
func minioStreaming(t *testing.T, url string, data []byte, trailer bool) *http.Request {
	req, err := http.NewRequest("PUT", url, bytes.NewReader(data))
	require.NoError(t, err)
	if trailer {
		req.Trailer = http.Header{"x-amz-checksum-crc32c": {crc32c(data)}}
	}
	return signer.StreamingSignV4(req, testKey, testSecret, "", testRegion, int64(len(data)), time.Now().UTC(), sha256Hasher())
}

func TestStreamingPayloads(t *testing.T) {
	s := newServer(t)
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 65535, 65536, 65537, 200_000} {
		for _, trailer := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d bytes, trailer %v", n, trailer), func(t *testing.T) {
				data := make([]byte, n)
				for i := range data {
					data[i] = byte(r.IntN(256))
				}
				o := s.do(t, minioStreaming(t, s.URL+"/bucket/key", data, trailer))
				require.NoError(t, o.err)
				require.NoError(t, o.berr)
				require.True(t, o.v.Chunked)
				require.Equal(t, int64(n), o.v.ContentLength)
				require.True(t, bytes.Equal(data, o.body))

				if n == 0 {
					return
				}
				// A flipped bit anywhere in the data, the chunk headers or
				// the trailer: the body fails before its last byte.
				req := minioStreaming(t, s.URL+"/bucket/key", data, trailer)
				wire := req.ContentLength
				for _, at := range []int64{100, int64(n) / 2, wire - 40, wire - 90} {
					if at < 0 || at >= wire {
						continue
					}
					req := minioStreaming(t, s.URL+"/bucket/key", data, trailer)
					req.Body = &flipReader{r: req.Body, at: at}
					o := s.do(t, req)
					if o.err != nil {
						continue // the header of the first chunk was hit
					}
					require.Error(t, o.berr, "flip at %d of %d", at, wire)
					require.Less(t, len(o.body), n, "flip at %d: a complete body came out", at)
				}
			})
		}
	}
}

func TestStreamingTrailerChecksumMismatch(t *testing.T) {
	s := newServer(t)
	data := bytes.Repeat([]byte("lakegate"), 10000)
	req, err := http.NewRequest("PUT", s.URL+"/bucket/key", bytes.NewReader(data))
	require.NoError(t, err)
	req.Trailer = http.Header{"x-amz-checksum-crc32c": {crc32c([]byte("other data"))}}
	req = signer.StreamingSignV4(req, testKey, testSecret, "", testRegion, int64(len(data)), time.Now().UTC(), sha256Hasher())
	o := s.do(t, req)
	require.NoError(t, o.err)
	require.Equal(t, sigv4.CodeBadDigest, code(t, o.berr))
	require.Less(t, len(o.body), len(data))
}

// unsignedTrailerRequest builds STREAMING-UNSIGNED-PAYLOAD-TRAILER by hand,
// the form the AWS SDKs use over TLS.
func unsignedTrailerRequest(t *testing.T, url string, data []byte, sum string) *http.Request {
	var body bytes.Buffer
	for off := 0; off < len(data); off += 8192 {
		end := min(off+8192, len(data))
		fmt.Fprintf(&body, "%x\r\n", end-off)
		body.Write(data[off:end])
		body.WriteString("\r\n")
	}
	body.WriteString("0\r\nx-amz-checksum-crc32c:" + sum + "\r\n\r\n")
	req, err := http.NewRequest("PUT", url, bytes.NewReader(body.Bytes()))
	require.NoError(t, err)
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32c")
	req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(data)))
	signSDK(t, req, sigv4.StreamingUnsignedTrailer, time.Now().UTC())
	return req
}

func TestStreamingUnsignedTrailer(t *testing.T) {
	s := newServer(t)
	data := bytes.Repeat([]byte("0123456789"), 3000)
	o := s.do(t, unsignedTrailerRequest(t, s.URL+"/bucket/key", data, crc32c(data)))
	require.NoError(t, o.err)
	require.NoError(t, o.berr)
	require.Equal(t, data, o.body)

	o = s.do(t, unsignedTrailerRequest(t, s.URL+"/bucket/key", data, crc32c([]byte("x"))))
	require.NoError(t, o.err)
	require.Equal(t, sigv4.CodeBadDigest, code(t, o.berr))
	require.Less(t, len(o.body), len(data))
}

func TestStreamingMalformed(t *testing.T) {
	s := newServer(t)
	data := []byte(strings.Repeat("x", 100))
	for name, mutate := range map[string]func(*http.Request){
		"no decoded length":       func(r *http.Request) { r.Header.Del("X-Amz-Decoded-Content-Length") },
		"decoded length too long": func(r *http.Request) { r.Header.Set("X-Amz-Decoded-Content-Length", "1000") },
	} {
		t.Run(name, func(t *testing.T) {
			req := minioStreaming(t, s.URL+"/bucket/key", data, false)
			mutate(req)
			o := s.do(t, req)
			if o.err == nil {
				require.Error(t, o.berr)
				require.Less(t, len(o.body), len(data)+1)
			}
		})
	}
}
