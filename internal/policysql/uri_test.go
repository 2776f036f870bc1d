package policysql

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNormalizeURI(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"s3://bucket/path", "s3://bucket/path"},
		{"S3://bucket/path/", "s3://bucket/path"},
		{"s3a://bucket/path", "s3://bucket/path"},
		{"S3N://bucket/path", "s3://bucket/path"},
		{"s3://bucket", "s3://bucket"},
		{"s3://bucket/", "s3://bucket"},
		{"s3://bucket///", "s3://bucket"},
		{"s3://bucket//a///b//", "s3://bucket/a/b"},
		{"s3://MyBucket/Data", "s3://MyBucket/Data"}, // bucket and key keep their case
		{"s3://b/a..b/.hidden/x.", "s3://b/a..b/.hidden/x."},
		{"s3://b/a%20b/%41", "s3://b/a%20b/%41"}, // other escapes are kept as written
		{"s3://b/100%/x%zz", "s3://b/100%/x%zz"},
		{"s3://b/données/été", "s3://b/données/été"},
		{"s3://b/日本/データ/", "s3://b/日本/データ"},
		{"gs://bucket/p", "gs://bucket/p"},
		{"abfss://container@account.dfs.core.windows.net/dir/", "abfss://container@account.dfs.core.windows.net/dir"},
		{"hdfs://namenode:8020/warehouse/", "hdfs://namenode:8020/warehouse"},
		{"hdfs:///warehouse", "hdfs:///warehouse"},
		{"hdfs:///", "hdfs:///"},
		{"file:///tmp/x/", "file:///tmp/x"},
		{"file:/tmp/x", "file:///tmp/x"},
		{"FILE://localhost/tmp//x", "file:///tmp/x"},
		{"file:///", "file:///"},
		{"file:/", "file:///"},
		{"file:////", "file:///"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := NormalizeURI(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			again, err := NormalizeURI(got)
			require.NoError(t, err)
			require.Equal(t, got, again, "normalizing is idempotent")
		})
	}
}

func TestNormalizeURIErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "invalid URI: it is empty"},
		{"/tmp/x", `invalid URI "/tmp/x": it has no scheme; write it as scheme://bucket/path, e.g. s3://bucket/path`},
		{"bucket/path", `invalid URI "bucket/path": it has no scheme; write it as scheme://bucket/path, e.g. s3://bucket/path`},
		{"://b/p", `invalid URI "://b/p": it has no scheme; write it as scheme://bucket/path, e.g. s3://bucket/path`},
		{"s_3://b/p", `invalid URI "s_3://b/p": it has no scheme; write it as scheme://bucket/path, e.g. s3://bucket/path`},
		{"1s3://b/p", `invalid URI "1s3://b/p": it has no scheme; write it as scheme://bucket/path, e.g. s3://bucket/path`},
		{"s3:bucket/p", `invalid URI "s3:bucket/p": expected s3://…`},
		{"s3:/bucket/p", `invalid URI "s3:/bucket/p": expected s3://…`},
		{"s3://", `invalid URI "s3://": it names no bucket; write s3://bucket/path`},
		{"s3a:///p", `invalid URI "s3a:///p": it names no bucket; write s3://bucket/path`},
		{"gs:///p", `invalid URI "gs:///p": it names no bucket; write gs://bucket/path`},
		{"file:tmp/x", `invalid URI "file:tmp/x": a file URI needs an absolute path, e.g. file:///data/x`},
		{"file://host/tmp", `invalid URI "file://host/tmp": a file URI cannot name a host; write file:///path`},
		{"s3://b/p/../secret", `invalid URI "s3://b/p/../secret": '.' and '..' path segments are not allowed`},
		{"s3://b/p/..", `invalid URI "s3://b/p/..": '.' and '..' path segments are not allowed`},
		{"s3://b/./p", `invalid URI "s3://b/./p": '.' and '..' path segments are not allowed`},
		{"s3://b/p/%2e%2E/secret", `invalid URI "s3://b/p/%2e%2E/secret": '.' and '..' path segments are not allowed`},
		{"s3://b/p/.%2e", `invalid URI "s3://b/p/.%2e": '.' and '..' path segments are not allowed`},
		{"s3://b/p%2Fq", `invalid URI "s3://b/p%2Fq": %2F is an encoded path separator`},
		{"s3://b/p%2fq", `invalid URI "s3://b/p%2fq": %2f is an encoded path separator`},
		{"s3://b/p%5Cq", `invalid URI "s3://b/p%5Cq": %5C is an encoded path separator`},
		{"s3://b/p%00", `invalid URI "s3://b/p%00": %00 is an encoded control character`},
		{"s3://b/p\x00q", `invalid URI "s3://b/p\x00q": it contains a control character`},
		{"s3://b/p\nq", `invalid URI "s3://b/p\nq": it contains a control character`},
		{"s3://b/p\x7f", `invalid URI "s3://b/p\x7f": it contains a control character`},
		{"s3://b/\xff", `invalid URI "s3://b/\xff": it is not valid UTF-8`},
		{"s3://b%2Fc/p", `invalid URI "s3://b%2Fc/p": the bucket or host contains '%', '\' or a space`},
		{`s3://b\c/p`, `invalid URI "s3://b\\c/p": the bucket or host contains '%', '\' or a space`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := NormalizeURI(tc.in)
			require.Empty(t, got)
			require.EqualError(t, err, tc.want)
		})
	}
}

func TestURICovers(t *testing.T) {
	for _, tc := range []struct {
		grant, path string
		want        bool
	}{
		{"s3://b/p", "s3://b/p", true},
		{"s3://b/p", "s3://b/p/x", true},
		{"s3://b/p", "s3://b/p/x/y.parquet", true},
		{"s3://b/p", "s3://b/px", false},
		{"s3://b/p", "s3://b/p.old", false},
		{"s3://b/p", "s3://b", false},
		{"s3://b/p/x", "s3://b/p", false},
		{"s3://b", "s3://b/anything/at/all", true},
		{"s3://b", "s3://b", true},
		{"s3://b", "s3://bx/p", false},
		{"s3://b", "s3://b.evil/p", false},
		{"s3://b", "s3://b:443/p", false},
		{"s3://b", "gs://b/p", false},
		{"s3://b/données", "s3://b/données/été", true},
		{"s3://b/donnée", "s3://b/données", false},
		{"file:///", "file:///tmp/x", true},
		{"file:///tmp", "file:///tmpfoo", false},
		{"file:///tmp", "file:///tmp/foo", true},
		{"hdfs:///", "hdfs:///w", true},
		{"", "s3://b", false},
		{"s3://b", "", false},
	} {
		t.Run(tc.grant+" "+tc.path, func(t *testing.T) {
			require.Equal(t, tc.want, URICovers(tc.grant, tc.path))
		})
	}
}

// TestURICoversNeedsNormalizedInput shows why both sides must be normalized:
// spellings that look different are one path once normalized.
func TestURICoversNeedsNormalizedInput(t *testing.T) {
	grant, err := NormalizeURI("s3a://b/data/")
	require.NoError(t, err)
	for _, p := range []string{"s3://b//data//x", "S3N://b/data/x/", "s3://b/data"} {
		path, err := NormalizeURI(p)
		require.NoError(t, err)
		require.True(t, URICovers(grant, path), p)
	}
	_, err = NormalizeURI("s3://b/data/../secret")
	require.Error(t, err, "a path cannot climb out of a grant")
}
