package ensemble

import (
	"net"
	"net/http"
	"strings"

	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/policysql"
	"github.com/lakegate/lakegate/internal/sigv4"
)

// check is one authorization question: may the user do any of privs on uri.
type check struct {
	uri   string
	privs []catalog.Privilege
}

// bucketVisible are the privileges any one of which lets a user see that a
// bucket exists (HeadBucket, GetBucketLocation, ListBuckets).
var bucketVisible = []catalog.Privilege{catalog.PrivShow, catalog.PrivSelect, catalog.PrivInsert}

// objectRef names an object, decoded.
type objectRef struct {
	bucket, key, versionID string
}

// s3Request is a verified request understood as one S3 operation.
type s3Request struct {
	op          string
	bucket, key string
	params      []sigv4.Param
	checks      []check
	copySource  *objectRef // CopyObject, UploadPartCopy
}

// Query parameters each operation accepts besides its subresource; any other
// parameter makes the request unsupported (fail closed: an unknown
// parameter could change what the request does).
var (
	listParams      = []string{"prefix", "delimiter", "max-keys", "marker", "encoding-type", "x-id", "expected-bucket-owner"}
	listV2Params    = []string{"list-type", "prefix", "delimiter", "max-keys", "continuation-token", "start-after", "fetch-owner", "encoding-type", "x-id", "allow-unordered"}
	versionsParams  = []string{"versions", "prefix", "delimiter", "max-keys", "key-marker", "version-id-marker", "encoding-type", "x-id"}
	uploadsParams   = []string{"uploads", "prefix", "delimiter", "max-uploads", "key-marker", "upload-id-marker", "encoding-type", "x-id"}
	getObjectParams = []string{"versionId", "partNumber", "response-cache-control", "response-content-disposition",
		"response-content-encoding", "response-content-language", "response-content-type", "response-expires", "x-id"}
)

func paramNames(params []sigv4.Param) map[string]string {
	m := make(map[string]string, len(params))
	for _, p := range params {
		m[p.Key] = p.Value
	}
	return m
}

func onlyParams(params []sigv4.Param, allowed ...[]string) *s3Error {
	for _, p := range params {
		ok := false
		for _, list := range allowed {
			for _, a := range list {
				if p.Key == a {
					ok = true
				}
			}
		}
		if !ok {
			return errNotImplemented("the lakegate S3 proxy does not support the query parameter " + quote(p.Key) + " for this operation")
		}
	}
	return nil
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return "'" + strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s) + "'"
}

// splitBucketKey finds the bucket and key of a request: virtual-host style
// when the Host is <bucket>.<one of domains>, path style otherwise. The path
// is decoded (S3 decodes it once; %2F is a '/' in the key).
func splitBucketKey(host, rawPath string, domains []string) (bucket, key string, virtual bool, err *s3Error) {
	path, perr := sigv4.PathUnescape(rawPath)
	if perr != nil || !strings.HasPrefix(path, "/") {
		return "", "", false, errInvalidRequest("the request path is not a valid percent-encoded absolute path")
	}
	h := host
	if hh, _, e := net.SplitHostPort(host); e == nil {
		h = hh
	}
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	for _, d := range domains {
		if b, ok := strings.CutSuffix(h, "."+d); ok && b != "" {
			return b, path[1:], true, nil
		}
	}
	rest := path[1:]
	bucket, key, _ = strings.Cut(rest, "/")
	return bucket, key, false, nil
}

// validBucket accepts S3 bucket names (3-63 of a-z 0-9 . -), and, for
// S3-compatible stores, upper case and '_'; nothing that could be a path.
func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return b[0] != '.' && b[0] != '-' && !strings.Contains(b, "..")
}

// objectURI is the URI authorized for an object. The key must be canonical:
// what the policy's path rules make of s3://bucket/key must be that very
// string (a trailing '/' of a directory marker aside). So keys with '.' or
// '..' segments, empty segments ("a//b", "/a"), encoded separators or
// control characters are refused rather than authorized as another path.
func objectURI(bucket, key string) (string, *s3Error) {
	if key == "" {
		return "", errInvalidRequest("no object key")
	}
	if len(key) > 1024 {
		return "", &s3Error{Status: http.StatusBadRequest, Code: "KeyTooLongError", Message: "Your key is too long"}
	}
	if strings.ContainsRune(key, '\\') {
		return "", errAccessDenied("keys with a backslash are refused: some stores and Hadoop treat it as a path separator")
	}
	return canonicalURI(bucket, strings.TrimSuffix(key, "/"), "key")
}

func canonicalURI(bucket, path, what string) (string, *s3Error) {
	raw := "s3://" + bucket
	if path != "" {
		raw += "/" + path
	}
	n, err := policysql.NormalizeURI(raw)
	if err != nil {
		return "", errAccessDenied("the " + what + " is refused by lakegate's path rules: " + err.Error())
	}
	if n != raw {
		return "", errAccessDenied("the " + what + " " + quote(path) + " is not in canonical form (empty, '.' or '..' segments); lakegate refuses it rather than guess which path it means")
	}
	return n, nil
}

// prefixURI is what a listing of prefix needs a grant on: the prefix itself
// when it ends at a segment boundary ("a/b/" needs s3://bucket/a/b), else
// its parent directory ("a/b" lists a/b/… but also a/bc…, so it needs
// s3://bucket/a); the empty prefix needs the whole bucket.
func prefixURI(bucket, prefix string) (string, *s3Error) {
	if len(prefix) > 1024 {
		return "", errInvalidRequest("the prefix is too long")
	}
	dir := prefix
	if !strings.HasSuffix(prefix, "/") {
		if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
			dir = prefix[:i+1]
		} else {
			dir = ""
		}
	}
	if strings.ContainsRune(prefix, '\\') {
		return "", errAccessDenied("prefixes with a backslash are refused: some stores and Hadoop treat it as a path separator")
	}
	return canonicalURI(bucket, strings.TrimSuffix(dir, "/"), "prefix")
}

// parseCopySource reads x-amz-copy-source: [/]bucket/key[?versionId=v],
// URL-encoded.
func parseCopySource(v string) (*objectRef, *s3Error) {
	raw, version, hasVersion := strings.Cut(v, "?")
	ref := &objectRef{}
	if hasVersion {
		k, val, _ := strings.Cut(version, "=")
		if k != "versionId" || val == "" {
			return nil, errInvalidRequest("x-amz-copy-source may only carry ?versionId=")
		}
		dv, err := sigv4.PathUnescape(val)
		if err != nil {
			return nil, errInvalidRequest("x-amz-copy-source has an invalid percent-encoding")
		}
		ref.versionID = dv
	}
	dec, err := sigv4.PathUnescape(raw)
	if err != nil {
		return nil, errInvalidRequest("x-amz-copy-source has an invalid percent-encoding")
	}
	dec = strings.TrimPrefix(dec, "/")
	if strings.HasPrefix(dec, "arn:") {
		return nil, errNotImplemented("copy sources given as access point ARNs are not supported")
	}
	b, k, ok := strings.Cut(dec, "/")
	if !ok || !validBucket(b) || k == "" {
		return nil, errInvalidRequest("x-amz-copy-source must be bucket/key")
	}
	ref.bucket, ref.key = b, k
	return ref, nil
}

// copySourceHeader renders a copy source the way it is forwarded: the very
// bucket, key and version that were authorized, encoded once.
func copySourceHeader(ref *objectRef) string {
	v := "/" + ref.bucket + "/" + sigv4.Escape(ref.key, true)
	if ref.versionID != "" {
		v += "?versionId=" + sigv4.Escape(ref.versionID, false)
	}
	return v
}

// classify turns a verified request into an S3 operation and the checks it
// needs. Anything it does not know is refused.
func classify(r *http.Request, bucket, key string, params []sigv4.Param) (*s3Request, *s3Error) {
	q := paramNames(params)
	has := func(k string) bool { _, ok := q[k]; return ok }
	req := &s3Request{bucket: bucket, key: key, params: params}
	if bucket == "" {
		if r.Method != http.MethodGet {
			return nil, errNotImplemented("only GET (ListBuckets) is supported on the service endpoint")
		}
		req.op = "ListBuckets"
		return req, onlyParams(params, []string{"max-buckets", "continuation-token", "prefix", "bucket-region", "x-id"})
	}
	if !validBucket(bucket) {
		return nil, &s3Error{Status: http.StatusBadRequest, Code: "InvalidBucketName", Message: "The specified bucket is not valid."}
	}
	if h := r.Header.Get("X-Amz-Copy-Source"); h != "" && !(key != "" && r.Method == http.MethodPut && !has("tagging")) {
		return nil, errInvalidRequest("x-amz-copy-source is only valid on CopyObject and UploadPartCopy")
	}
	if err := checkACLHeaders(r); err != nil {
		return nil, err
	}
	bucketURI := "s3://" + bucket
	if key == "" {
		var err *s3Error
		switch {
		case r.Method == http.MethodHead:
			req.op, err = "HeadBucket", onlyParams(params, []string{"x-id"})
			req.checks = []check{{bucketURI, bucketVisible}}
		case r.Method == http.MethodGet && has("location"):
			req.op, err = "GetBucketLocation", onlyParams(params, []string{"location", "x-id"})
			req.checks = []check{{bucketURI, bucketVisible}}
		case r.Method == http.MethodGet && has("list-type"):
			if q["list-type"] != "2" {
				return nil, errInvalidRequest("list-type must be 2")
			}
			req.op, err = "ListObjectsV2", onlyParams(params, listV2Params)
		case r.Method == http.MethodGet && has("versions"):
			req.op, err = "ListObjectVersions", onlyParams(params, versionsParams)
		case r.Method == http.MethodGet && has("uploads"):
			req.op, err = "ListMultipartUploads", onlyParams(params, uploadsParams)
		case r.Method == http.MethodGet:
			req.op, err = "ListObjects", onlyParams(params, listParams)
		case r.Method == http.MethodPut:
			req.op, err = "CreateBucket", onlyParams(params, []string{"x-id"})
			req.checks = []check{{bucketURI, []catalog.Privilege{catalog.PrivAll}}}
		case r.Method == http.MethodDelete:
			req.op, err = "DeleteBucket", onlyParams(params, []string{"x-id"})
			req.checks = []check{{bucketURI, []catalog.Privilege{catalog.PrivAll}}}
		case r.Method == http.MethodPost && has("delete"):
			req.op, err = "DeleteObjects", onlyParams(params, []string{"delete", "x-id"})
			// the checks come from the body (one per key)
		default:
			return nil, errNotImplemented("this bucket operation is not supported by the lakegate S3 proxy")
		}
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(req.op, "List") {
			uri, err := prefixURI(bucket, q["prefix"])
			if err != nil {
				return nil, err
			}
			req.checks = []check{{uri, []catalog.Privilege{catalog.PrivSelect}}}
		}
		return req, nil
	}

	uri, uerr := objectURI(bucket, key)
	if uerr != nil {
		return nil, uerr
	}
	read := []catalog.Privilege{catalog.PrivSelect}
	write := []catalog.Privilege{catalog.PrivInsert}
	var err *s3Error
	switch {
	case r.Method == http.MethodGet && has("tagging"):
		req.op, err, req.checks = "GetObjectTagging", onlyParams(params, []string{"tagging", "versionId", "x-id"}), []check{{uri, read}}
	case r.Method == http.MethodGet && has("attributes"):
		req.op, err, req.checks = "GetObjectAttributes", onlyParams(params, []string{"attributes", "versionId", "x-id"}), []check{{uri, read}}
	case r.Method == http.MethodGet && has("uploadId"):
		req.op, err, req.checks = "ListParts", onlyParams(params, []string{"uploadId", "max-parts", "part-number-marker", "x-id"}), []check{{uri, write}}
	case r.Method == http.MethodGet:
		req.op, err, req.checks = "GetObject", onlyParams(params, getObjectParams), []check{{uri, read}}
	case r.Method == http.MethodHead:
		req.op, err, req.checks = "HeadObject", onlyParams(params, []string{"versionId", "partNumber", "x-id"}), []check{{uri, read}}
	case r.Method == http.MethodPut && has("tagging"):
		req.op, err, req.checks = "PutObjectTagging", onlyParams(params, []string{"tagging", "versionId", "x-id"}), []check{{uri, write}}
	case r.Method == http.MethodPut && (has("partNumber") || has("uploadId")):
		req.op, err, req.checks = "UploadPart", onlyParams(params, []string{"partNumber", "uploadId", "x-id"}), []check{{uri, write}}
		if !has("partNumber") || !has("uploadId") {
			return nil, errInvalidRequest("UploadPart needs partNumber and uploadId")
		}
	case r.Method == http.MethodPut:
		req.op, err, req.checks = "PutObject", onlyParams(params, []string{"x-id"}), []check{{uri, write}}
	case r.Method == http.MethodPost && has("uploads"):
		req.op, err, req.checks = "CreateMultipartUpload", onlyParams(params, []string{"uploads", "x-id"}), []check{{uri, write}}
	case r.Method == http.MethodPost && has("uploadId"):
		req.op, err, req.checks = "CompleteMultipartUpload", onlyParams(params, []string{"uploadId", "x-id"}), []check{{uri, write}}
	case r.Method == http.MethodDelete && has("uploadId"):
		req.op, err, req.checks = "AbortMultipartUpload", onlyParams(params, []string{"uploadId", "x-id"}), []check{{uri, write}}
	case r.Method == http.MethodDelete && has("tagging"):
		req.op, err, req.checks = "DeleteObjectTagging", onlyParams(params, []string{"tagging", "versionId", "x-id"}), []check{{uri, write}}
	case r.Method == http.MethodDelete:
		req.op, err, req.checks = "DeleteObject", onlyParams(params, []string{"versionId", "x-id"}), []check{{uri, []catalog.Privilege{catalog.PrivDrop}}}
	default:
		return nil, errNotImplemented("this object operation is not supported by the lakegate S3 proxy")
	}
	if err != nil {
		return nil, err
	}
	if cs := r.Header.Get("X-Amz-Copy-Source"); cs != "" {
		ref, err := parseCopySource(cs)
		if err != nil {
			return nil, err
		}
		src, err := objectURI(ref.bucket, ref.key)
		if err != nil {
			return nil, err
		}
		req.copySource = ref
		if req.op == "UploadPart" {
			req.op = "UploadPartCopy"
		} else {
			req.op = "CopyObject"
		}
		req.checks = append(req.checks, check{src, read})
	}
	return req, nil
}

// checkACLHeaders refuses requests that would grant access outside lakegate
// (a public-read ACL on an object, say). Private canned ACLs pass.
func checkACLHeaders(r *http.Request) *s3Error {
	for k := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-amz-grant-") {
			return errAccessDenied("ACL grants (x-amz-grant-*) are refused: lakegate decides who reads data")
		}
	}
	switch acl := r.Header.Get("X-Amz-Acl"); acl {
	case "", "private", "bucket-owner-full-control":
		return nil
	default:
		return errAccessDenied("the canned ACL " + quote(acl) + " is refused: lakegate decides who reads data; use private or bucket-owner-full-control")
	}
}
