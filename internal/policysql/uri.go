package policysql

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// NormalizeURI returns the canonical form of a storage URI, the form URI
// grants are stored and compared in:
//
//   - the scheme is lower case, and s3a and s3n are s3;
//   - s3 (and gs, abfs[s], wasb[s]) URIs need a bucket; other schemes
//     need "//" after the scheme (hdfs:///p, with an empty authority, is fine);
//   - file URIs are written file:///path (file:/path and
//     file://localhost/path are accepted; another host is not);
//   - repeated slashes in the path are collapsed and trailing slashes
//     removed, except for a bare root such as file:///;
//   - the authority (bucket, host) keeps its case: S3 bucket names are
//     case-sensitive, and comparing them exactly fails closed.
//
// It refuses, with an error saying why, what could make two spellings of
// one path compare differently or one path escape another: '.' and '..'
// segments (also percent-encoded), percent-encoded slashes and backslashes
// (%2F, %5C), control characters (also percent-encoded) and invalid UTF-8.
func NormalizeURI(s string) (string, error) {
	bad := func(reason string) (string, error) {
		return "", fmt.Errorf("invalid URI %q: %s", s, reason)
	}
	if s == "" {
		return "", errors.New("invalid URI: it is empty")
	}
	if !utf8.ValidString(s) {
		return bad("it is not valid UTF-8")
	}
	if hasControl(s) {
		return bad("it contains a control character")
	}
	colon := strings.IndexByte(s, ':')
	if colon <= 0 || !isScheme(s[:colon]) {
		return bad("it has no scheme; write it as scheme://bucket/path, e.g. s3://bucket/path")
	}
	scheme, rest := strings.ToLower(s[:colon]), s[colon+1:]
	if scheme == "s3a" || scheme == "s3n" {
		scheme = "s3"
	}

	var authority, path string
	switch {
	case strings.HasPrefix(rest, "//"):
		authority, path = rest[2:], ""
		if slash := strings.IndexByte(authority, '/'); slash >= 0 {
			authority, path = authority[:slash], authority[slash:]
		}
	case scheme == "file" && strings.HasPrefix(rest, "/"):
		path = rest // Hadoop's file:/path
	case scheme == "file":
		return bad("a file URI needs an absolute path, e.g. file:///data/x")
	default:
		return bad(fmt.Sprintf("expected %s://…", scheme))
	}
	if scheme == "file" {
		if authority != "" && !strings.EqualFold(authority, "localhost") {
			return bad("a file URI cannot name a host; write file:///path")
		}
		authority = ""
	}
	if bucketSchemes[scheme] && authority == "" {
		return bad(fmt.Sprintf("it names no bucket; write %s://bucket/path", scheme))
	}
	if strings.ContainsAny(authority, `%\ `) {
		return bad("the bucket or host contains '%', '\\' or a space")
	}

	var segs []string
	for _, seg := range strings.Split(path, "/") {
		if seg == "" {
			continue
		}
		if reason := checkSegment(seg); reason != "" {
			return bad(reason)
		}
		segs = append(segs, seg)
	}
	path = ""
	if len(segs) > 0 {
		path = "/" + strings.Join(segs, "/")
	} else if authority == "" {
		path = "/" // a bare root: file:///, hdfs:///
	}
	return scheme + "://" + authority + path, nil
}

// bucketSchemes are the object-store schemes whose URIs must name a bucket
// (or container).
var bucketSchemes = map[string]bool{"s3": true, "gs": true, "abfs": true, "abfss": true, "wasb": true, "wasbs": true}

// checkSegment returns why one path segment is refused, or "".
func checkSegment(seg string) string {
	decoded := seg
	for i := 0; i+2 < len(seg); i++ {
		if seg[i] != '%' || !isHex(seg[i+1]) || !isHex(seg[i+2]) {
			continue
		}
		switch b := unhex(seg[i+1])<<4 | unhex(seg[i+2]); {
		case b == '/' || b == '\\':
			return fmt.Sprintf("%s is an encoded path separator", seg[i:i+3])
		case b < 0x20 || b == 0x7f:
			return fmt.Sprintf("%s is an encoded control character", seg[i:i+3])
		}
	}
	if strings.Contains(strings.ToLower(seg), "%2e") {
		decoded = strings.NewReplacer("%2e", ".", "%2E", ".").Replace(seg)
	}
	if decoded == "." || decoded == ".." {
		return "'.' and '..' path segments are not allowed"
	}
	return ""
}

// URICovers reports whether a grant on the URI grant reaches path: path is
// grant itself or lies below it, on a segment boundary (s3://b/p covers
// s3://b/p/x but not s3://b/px). Both must already be normalized.
func URICovers(grant, path string) bool {
	if grant == "" || !strings.HasPrefix(path, grant) {
		return false
	}
	return len(path) == len(grant) || strings.HasSuffix(grant, "/") || path[len(grant)] == '/'
}

// isScheme reports whether s is an RFC 3986 scheme: a letter, then letters,
// digits, '+', '-' or '.'.
func isScheme(s string) bool {
	if s == "" || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isLetter(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
