package ensemble

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/lakegate/lakegate/internal/sigv4"
)

// upstream is the real S3 (or S3-compatible store) requests are re-signed for.
type upstream struct {
	base      *url.URL
	pathStyle bool
	region    string
	creds     aws.CredentialsProvider
	signer    *v4.Signer
	client    *http.Client
	raw       *rawPool // the splice path for GetObject bodies, for a plain-HTTP upstream (splice.go)
}

func newUpstream(rawURL, style, region string, creds aws.CredentialsProvider) (*upstream, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("--upstream %q must be an http(s) URL such as https://s3.us-east-1.amazonaws.com", rawURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	up := &upstream{base: u, region: region, creds: creds,
		signer: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })}
	switch style {
	case "path":
		up.pathStyle = true
	case "virtual":
	case "auto", "":
		up.pathStyle = !strings.HasSuffix(u.Hostname(), ".amazonaws.com")
	default:
		return nil, fmt.Errorf("--upstream-style %q: use auto, path or virtual", style)
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 5 * time.Minute,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true, // bytes pass through as the store sends them
		WriteBufferSize:       256 << 10,
		ReadBufferSize:        256 << 10,
		ForceAttemptHTTP2:     true,
	}
	up.client = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if proxy, err := http.ProxyFromEnvironment(&http.Request{URL: u}); u.Scheme == "http" && proxy == nil && err == nil {
		up.raw = newRawPool()
	}
	return up, nil
}

// target is the upstream URL of bucket/key with the given (decoded) query.
func (u *upstream) target(bucket, key string, params []sigv4.Param) *url.URL {
	t := *u.base
	path := ""
	if bucket != "" {
		if u.pathStyle {
			path = "/" + bucket
			if key != "" {
				path += "/" + key
			} else {
				path += "/"
			}
		} else {
			t.Host = bucket + "." + t.Host
			path = "/" + key
		}
	} else {
		path = "/"
	}
	t.Path = u.base.Path + path
	t.RawPath = u.base.EscapedPath() + sigv4.Escape(path, true)
	t.RawQuery = sigv4.CanonicalQuery(params, "")
	return &t
}

// dropHeaders are not forwarded: authentication (re-done for the upstream),
// framing (recomputed) and hop-by-hop headers.
var dropHeaders = map[string]bool{
	"Authorization": true, "X-Amz-Date": true, "X-Amz-Content-Sha256": true, "X-Amz-Security-Token": true,
	"X-Amz-Decoded-Content-Length": true, "X-Amz-Trailer": true, "X-Amz-Copy-Source": true,
	"Content-Length": true, "Host": true, "Connection": true, "Keep-Alive": true, "Proxy-Authorization": true,
	"Proxy-Authenticate": true, "Proxy-Connection": true, "Te": true, "Trailer": true, "Transfer-Encoding": true,
	"Upgrade": true, "Expect": true,
}

func forwardHeaders(in http.Header) http.Header {
	out := make(http.Header, len(in))
	for k, vs := range in {
		if dropHeaders[k] {
			continue
		}
		if k == "Content-Encoding" {
			var keep []string
			for _, v := range vs {
				for _, p := range strings.Split(v, ",") {
					if p = strings.TrimSpace(p); p != "" && !strings.EqualFold(p, "aws-chunked") {
						keep = append(keep, p)
					}
				}
			}
			if len(keep) > 0 {
				out[k] = []string{strings.Join(keep, ",")}
			}
			continue
		}
		out[k] = vs
	}
	return out
}

// send re-signs a request with the upstream credentials (the AWS SDK's v4
// signer) and sends it. body is streamed; length is its exact size.
func (u *upstream) send(ctx context.Context, method string, target *url.URL, header http.Header, body io.Reader, length int64, payloadHash string) (*http.Response, error) {
	req, err := u.signed(ctx, method, target, header, body, length, payloadHash)
	if err != nil {
		return nil, err
	}
	return u.client.Do(req)
}

// signed makes the upstream request, signed with the upstream credentials.
func (u *upstream) signed(ctx context.Context, method string, target *url.URL, header http.Header, body io.Reader, length int64, payloadHash string) (*http.Request, error) {
	if length == 0 {
		body = http.NoBody
	} else if body != nil {
		body = io.NopCloser(body) // the incoming body is closed by the server
	}
	req, err := http.NewRequestWithContext(ctx, method, target.String(), body)
	if err != nil {
		return nil, err
	}
	req.URL = target
	req.Header = header
	req.ContentLength = length
	if length == 0 {
		req.Body, req.GetBody = http.NoBody, nil
	}
	header.Set("X-Amz-Content-Sha256", payloadHash)
	creds, err := u.creds.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("upstream credentials: %w", err)
	}
	if err := u.signer.SignHTTP(ctx, creds, req, payloadHash, "s3", u.region, time.Now().UTC()); err != nil {
		return nil, fmt.Errorf("sign the upstream request: %w", err)
	}
	return req, nil
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true, "Trailer": true,
	"Transfer-Encoding": true, "Upgrade": true,
}

// relay copies an upstream response to the client, streaming the body.
func relay(w http.ResponseWriter, resp *http.Response, requestID string) (int64, error) {
	writeHead(w, resp, requestID)
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	return io.CopyBuffer(writerOnly{w}, resp.Body, *bp)
}

// writeHead sends the status and headers of an upstream response, without
// its hop-by-hop headers.
func writeHead(w http.ResponseWriter, resp *http.Response, requestID string) {
	h := w.Header()
	for k, vs := range resp.Header {
		if !hopHeaders[k] {
			h[k] = vs
		}
	}
	if h.Get("X-Amz-Request-Id") == "" {
		h.Set("X-Amz-Request-Id", requestID)
	}
	w.WriteHeader(resp.StatusCode)
}

// writerOnly hides ReadFrom so io.CopyBuffer uses the pooled buffer.
type writerOnly struct{ io.Writer }
