package ensemble

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/sigv4"
)

func TestClassify(t *testing.T) {
	sel, ins, drop, all := catalog.PrivSelect, catalog.PrivInsert, catalog.PrivDrop, catalog.PrivAll
	type want struct {
		op     string
		checks []check
		code   string
	}
	for _, tc := range []struct {
		method, target string
		header         map[string]string
		want           want
	}{
		{"GET", "/bkt/sales/x.parquet", nil, want{op: "GetObject", checks: []check{{"s3://bkt/sales/x.parquet", []catalog.Privilege{sel}}}}},
		{"GET", "/bkt/sales/x?versionId=3&response-content-type=text%2Fplain", nil, want{op: "GetObject", checks: []check{{"s3://bkt/sales/x", []catalog.Privilege{sel}}}}},
		{"HEAD", "/bkt/sales/dir/", nil, want{op: "HeadObject", checks: []check{{"s3://bkt/sales/dir", []catalog.Privilege{sel}}}}},
		{"PUT", "/bkt/sales/x", nil, want{op: "PutObject", checks: []check{{"s3://bkt/sales/x", []catalog.Privilege{ins}}}}},
		{"PUT", "/bkt/sales/x?x-id=PutObject", nil, want{op: "PutObject", checks: []check{{"s3://bkt/sales/x", []catalog.Privilege{ins}}}}},
		{"DELETE", "/bkt/sales/x", nil, want{op: "DeleteObject", checks: []check{{"s3://bkt/sales/x", []catalog.Privilege{drop}}}}},
		{"POST", "/bkt/k?uploads", nil, want{op: "CreateMultipartUpload", checks: []check{{"s3://bkt/k", []catalog.Privilege{ins}}}}},
		{"PUT", "/bkt/k?partNumber=1&uploadId=u", nil, want{op: "UploadPart", checks: []check{{"s3://bkt/k", []catalog.Privilege{ins}}}}},
		{"POST", "/bkt/k?uploadId=u", nil, want{op: "CompleteMultipartUpload", checks: []check{{"s3://bkt/k", []catalog.Privilege{ins}}}}},
		{"DELETE", "/bkt/k?uploadId=u", nil, want{op: "AbortMultipartUpload", checks: []check{{"s3://bkt/k", []catalog.Privilege{ins}}}}},
		{"GET", "/bkt/k?uploadId=u", nil, want{op: "ListParts", checks: []check{{"s3://bkt/k", []catalog.Privilege{ins}}}}},
		{"PUT", "/bkt/dst", map[string]string{"X-Amz-Copy-Source": "/bkt/src%20file?versionId=7"}, want{op: "CopyObject", checks: []check{{"s3://bkt/dst", []catalog.Privilege{ins}}, {"s3://bkt/src file", []catalog.Privilege{sel}}}}},
		{"PUT", "/bkt/dst?partNumber=2&uploadId=u", map[string]string{"X-Amz-Copy-Source": "other/src"}, want{op: "UploadPartCopy", checks: []check{{"s3://bkt/dst", []catalog.Privilege{ins}}, {"s3://other/src", []catalog.Privilege{sel}}}}},
		{"GET", "/bkt?list-type=2&prefix=sales%2F2024%2F", nil, want{op: "ListObjectsV2", checks: []check{{"s3://bkt/sales/2024", []catalog.Privilege{sel}}}}},
		{"GET", "/bkt?list-type=2&prefix=sales%2F20", nil, want{op: "ListObjectsV2", checks: []check{{"s3://bkt/sales", []catalog.Privilege{sel}}}}},
		{"GET", "/bkt?list-type=2&prefix=sales", nil, want{op: "ListObjectsV2", checks: []check{{"s3://bkt", []catalog.Privilege{sel}}}}},
		{"GET", "/bkt/", nil, want{op: "ListObjects", checks: []check{{"s3://bkt", []catalog.Privilege{sel}}}}},
		{"GET", "/bkt?versions&prefix=a%2F", nil, want{op: "ListObjectVersions", checks: []check{{"s3://bkt/a", []catalog.Privilege{sel}}}}},
		{"GET", "/bkt?uploads&prefix=a%2F", nil, want{op: "ListMultipartUploads", checks: []check{{"s3://bkt/a", []catalog.Privilege{sel}}}}},
		{"HEAD", "/bkt", nil, want{op: "HeadBucket", checks: []check{{"s3://bkt", bucketVisible}}}},
		{"GET", "/bkt?location", nil, want{op: "GetBucketLocation", checks: []check{{"s3://bkt", bucketVisible}}}},
		{"PUT", "/bucket", nil, want{op: "CreateBucket", checks: []check{{"s3://bucket", []catalog.Privilege{all}}}}},
		{"DELETE", "/bucket", nil, want{op: "DeleteBucket", checks: []check{{"s3://bucket", []catalog.Privilege{all}}}}},
		{"POST", "/bkt?delete", nil, want{op: "DeleteObjects"}},
		{"GET", "/", nil, want{op: "ListBuckets"}},

		// refused: what the proxy does not understand, path tricks, ACLs
		{"GET", "/bkt/k?acl", nil, want{code: sigv4.CodeNotImplemented}},
		{"PUT", "/bkt/k?acl", nil, want{code: sigv4.CodeNotImplemented}},
		{"PUT", "/bkt?policy", nil, want{code: sigv4.CodeNotImplemented}},
		{"GET", "/bkt?list-type=2&unknown=1", nil, want{code: sigv4.CodeNotImplemented}},
		{"POST", "/bkt/k?restore", nil, want{code: sigv4.CodeNotImplemented}},
		{"POST", "/bkt/k?select&select-type=2", nil, want{code: sigv4.CodeNotImplemented}},
		{"GET", "/bkt/sales/../hr/x", nil, want{code: sigv4.CodeAccessDenied}},
		{"GET", "/bkt/sales%2F..%2Fhr%2Fx", nil, want{code: sigv4.CodeAccessDenied}},
		{"GET", "/bkt/sales/%2e%2e/hr/x", nil, want{code: sigv4.CodeAccessDenied}},
		{"GET", "/bkt/sales/%252e%252e/hr/x", nil, want{code: sigv4.CodeAccessDenied}},
		{"GET", "/bkt//sales/x", nil, want{code: sigv4.CodeAccessDenied}},
		{"GET", "/bkt/sales//x", nil, want{code: sigv4.CodeAccessDenied}},
		{"GET", "/bkt/sales/./x", nil, want{code: sigv4.CodeAccessDenied}},
		{"GET", "/bkt/sales/%00", nil, want{code: sigv4.CodeAccessDenied}},
		{"GET", "/bkt/sales%5C..%5Chr", nil, want{code: sigv4.CodeAccessDenied}},
		{"GET", "/bkt?list-type=2&prefix=sales%2F..%2F", nil, want{code: sigv4.CodeAccessDenied}},
		{"GET", "/bkt?list-type=2&prefix=%2F", nil, want{op: "ListObjectsV2", checks: []check{{"s3://bkt", []catalog.Privilege{sel}}}}},
		{"GET", "/bkt?list-type=2&prefix=a%2F%2F", nil, want{code: sigv4.CodeAccessDenied}},
		{"GET", "/bkt/sales/a%5Cb", nil, want{code: sigv4.CodeAccessDenied}},
		{"PUT", "/bkt/k", map[string]string{"X-Amz-Acl": "public-read"}, want{code: sigv4.CodeAccessDenied}},
		{"PUT", "/bkt/k", map[string]string{"X-Amz-Grant-Read": "uri=http://acs.amazonaws.com/groups/global/AllUsers"}, want{code: sigv4.CodeAccessDenied}},
		{"PUT", "/bkt/k", map[string]string{"X-Amz-Copy-Source": "bkt/sales/../hr/x"}, want{code: sigv4.CodeAccessDenied}},
		{"PUT", "/bkt/k", map[string]string{"X-Amz-Copy-Source": "arn:aws:s3:us-east-1:1:accesspoint/ap/object/k"}, want{code: sigv4.CodeNotImplemented}},
		{"GET", "/bkt/k", map[string]string{"X-Amz-Copy-Source": "bkt/x"}, want{code: sigv4.CodeInvalidRequest}},
		{"GET", "/bkt/k?partNumber=1&uploadId=u&acl", nil, want{code: sigv4.CodeNotImplemented}},
		{"PUT", "/bkt/k?partNumber=1", nil, want{code: sigv4.CodeInvalidRequest}},
		{"GET", "/a/k", nil, want{code: "InvalidBucketName"}},
		{"GET", "/bad..bucket/k", nil, want{code: "InvalidBucketName"}},
		{"PATCH", "/bkt/k", nil, want{code: sigv4.CodeNotImplemented}},
		{"PUT", "/", nil, want{code: sigv4.CodeNotImplemented}},
	} {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "http://proxy"+tc.target, nil)
			r.RequestURI = tc.target
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			rawPath, rawQuery := sigv4.SplitRequestURI(r)
			params, err := sigv4.ParseQuery(rawQuery)
			require.NoError(t, err)
			bucket, key, _, perr := splitBucketKey("proxy", rawPath, nil)
			var got *s3Request
			if perr == nil {
				got, perr = classify(r, bucket, key, params)
			}
			if tc.want.code != "" {
				require.NotNil(t, perr, "want %s", tc.want.code)
				require.Equal(t, tc.want.code, perr.Code, perr.Message)
				return
			}
			require.Nil(t, perr)
			require.Equal(t, tc.want.op, got.op)
			require.Equal(t, tc.want.checks, got.checks)
		})
	}
}

func TestVirtualHostAddressing(t *testing.T) {
	domains := []string{"s3.lake.example"}
	for _, tc := range []struct{ host, path, bucket, key string }{
		{"lake.s3.lake.example", "/sales/x", "lake", "sales/x"},
		{"lake.s3.lake.example:5010", "/sales/x", "lake", "sales/x"},
		{"LAKE.S3.Lake.Example.", "/", "lake", ""},
		{"s3.lake.example", "/lake/sales/x", "lake", "sales/x"},
		{"127.0.0.1:5010", "/lake/sales%2Fx", "lake", "sales/x"},
		{"evil.example", "/lake/k", "lake", "k"},
	} {
		b, k, _, err := splitBucketKey(tc.host, tc.path, domains)
		require.Nil(t, err)
		require.Equal(t, tc.bucket, b, tc.host)
		require.Equal(t, tc.key, k, tc.host)
	}
	s := &Server{cfg: Config{VirtualHostDomains: domains}}
	require.True(t, s.virtualHost("lake.s3.lake.example:5010"))
	require.False(t, s.virtualHost("127.0.0.1:5010"), "the control endpoints answer path-style requests")
}

func TestCopySourceForwardedAsAuthorized(t *testing.T) {
	ref, err := parseCopySource("/bkt/a%20b/c%2Bd?versionId=v%2F1")
	require.Nil(t, err)
	require.Equal(t, objectRef{"bkt", "a b/c+d", "v/1"}, *ref)
	require.Equal(t, "/bkt/a%20b/c%2Bd?versionId=v%2F1", copySourceHeader(ref))
	_, err = parseCopySource("bkt/k?partNumber=1")
	require.NotNil(t, err)
	_, err = parseCopySource("b")
	require.NotNil(t, err)
	_ = http.MethodGet
}
