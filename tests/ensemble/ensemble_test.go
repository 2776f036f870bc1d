package ensemble_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"

	"github.com/lakegate/lakegate/internal/audit"
)

var ctx = context.Background()

// apiCode is the S3 error code of an SDK error ("" for none).
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

func put(t *testing.T, c *s3.Client, bucket, key, body string) error {
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	return err
}

func get(t *testing.T, c *s3.Client, bucket, key string) (string, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}

func list(c *s3.Client, bucket, prefix string) ([]string, error) {
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, *o.Key)
	}
	return keys, nil
}

// rawSigned sends a request for a raw (already encoded) path, signed with k
// at signing time at: what a hand-written client or an attacker sends.
func rawSigned(t *testing.T, w *world, k accessKey, method, rawPath string, at time.Time) *http.Response {
	t.Helper()
	u, err := url.Parse(w.endpoint())
	require.NoError(t, err)
	req, err := http.NewRequest(method, w.endpoint(), nil)
	require.NoError(t, err)
	req.URL.Opaque = "//" + u.Host + rawPath
	req.Header.Set("X-Amz-Content-Sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	require.NoError(t, signer.SignHTTP(ctx, aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey}, req,
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "s3", "us-east-1", at))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	return resp
}

// rawSignedQuery sends method rawPath?rawQuery with body and extra headers
// (each value added, so a header can be repeated), signed with k: the
// requests a hand-written client or an attacker sends.
func rawSignedQuery(t *testing.T, w *world, k accessKey, method, rawPath, rawQuery string, body []byte, hdr [][2]string) *http.Response {
	t.Helper()
	u, err := url.Parse(w.endpoint())
	require.NoError(t, err)
	req, err := http.NewRequest(method, w.endpoint(), bytes.NewReader(body))
	require.NoError(t, err)
	req.URL.Opaque = "//" + u.Host + rawPath
	req.URL.RawQuery = rawQuery
	for _, h := range hdr {
		req.Header.Add(h[0], h[1])
	}
	payload := sha(body)
	req.Header.Set("X-Amz-Content-Sha256", payload)
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	require.NoError(t, signer.SignHTTP(ctx, aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey}, req,
		payload, "s3", "us-east-1", time.Now()))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	return resp
}

func errorCode(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	s := string(b)
	i, j := strings.Index(s, "<Code>"), strings.Index(s, "</Code>")
	if i < 0 || j < i {
		return resp.Status
	}
	return s[i+6 : j]
}

func TestEnsembleEndToEnd(t *testing.T) {
	w := newWorld(t)
	for _, b := range []string{"lake", "other"} {
		_, err := w.direct.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)})
		require.NoError(t, err)
	}
	for key, body := range map[string]string{
		"sales/2024/part-0.parquet": "sales data", "sales/public/readme": "public", "salesx/secret": "not sales",
		"eng/secret.txt": "engineering", "hr/salaries.csv": "salaries",
	} {
		_, err := w.direct.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lake"), Key: aws.String(key), Body: strings.NewReader(body)})
		require.NoError(t, err)
	}
	w.sql(`CREATE ROLE analyst; GRANT ROLE analyst TO GROUP analysts;
		GRANT SELECT ON URI 's3://lake/sales' TO ROLE analyst;
		GRANT ALL ON URI 's3://lake/scratch/alice' TO ROLE analyst;
		CREATE ROLE engineer; GRANT ROLE engineer TO GROUP eng;
		GRANT ALL ON URI 's3://lake/eng' TO ROLE engineer;
		GRANT SELECT ON URI 's3://lake/sales/public' TO ROLE engineer;
		GRANT INSERT ON URI 's3://other' TO ROLE engineer`)
	aliceTok := w.token("alice", time.Hour, "analysts")
	bobTok := w.token("bob", time.Hour, "eng")
	ak, bk := w.credentials(aliceTok), w.credentials(bobTok)
	require.Equal(t, "alice", ak.User)
	alice, bob := w.client(ak), w.client(bk)

	t.Run("get", func(t *testing.T) {
		s, err := get(t, alice, "lake", "sales/2024/part-0.parquet")
		require.NoError(t, err)
		require.Equal(t, "sales data", s)
		_, err = get(t, alice, "lake", "eng/secret.txt")
		require.Equal(t, "AccessDenied", apiCode(err))
		_, err = get(t, alice, "lake", "salesx/secret")
		require.Equal(t, "AccessDenied", apiCode(err), "grants end on segment boundaries")
		_, err = get(t, bob, "lake", "sales/2024/part-0.parquet")
		require.Equal(t, "AccessDenied", apiCode(err))
		s, err = get(t, bob, "lake", "sales/public/readme")
		require.NoError(t, err)
		require.Equal(t, "public", s)
		_, err = alice.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("lake"), Key: aws.String("sales/2024/part-0.parquet")})
		require.NoError(t, err)
		_, err = bob.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("lake"), Key: aws.String("hr/salaries.csv")})
		require.Error(t, err)
	})
	t.Run("range and conditional headers pass through", func(t *testing.T) {
		out, err := alice.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("lake"), Key: aws.String("sales/2024/part-0.parquet"), Range: aws.String("bytes=0-4")})
		require.NoError(t, err)
		b, _ := io.ReadAll(out.Body)
		require.Equal(t, "sales", string(b))
		_, err = alice.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("lake"), Key: aws.String("sales/2024/part-0.parquet"), IfNoneMatch: out.ETag})
		require.Error(t, err) // 304 Not Modified from the upstream
		var re interface{ HTTPStatusCode() int }
		require.True(t, errors.As(err, &re))
		require.Equal(t, 304, re.HTTPStatusCode())
		_, err = get(t, alice, "lake", "sales/no-such-object")
		require.Equal(t, "NoSuchKey", apiCode(err), "upstream errors pass through")
	})
	t.Run("put", func(t *testing.T) {
		require.NoError(t, put(t, alice, "lake", "scratch/alice/out.txt", "alice wrote this"))
		require.Equal(t, "AccessDenied", apiCode(put(t, alice, "lake", "sales/new.parquet", "x")), "SELECT does not allow writes")
		require.Equal(t, "AccessDenied", apiCode(put(t, bob, "lake", "scratch/alice/bob.txt", "x")))
		require.NoError(t, put(t, bob, "lake", "eng/new.txt", "bob wrote this"))
		out, err := w.direct.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("lake"), Key: aws.String("scratch/alice/out.txt")})
		require.NoError(t, err)
		b, _ := io.ReadAll(out.Body)
		require.Equal(t, "alice wrote this", string(b))
		_, err = w.direct.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("lake"), Key: aws.String("sales/new.parquet")})
		require.Error(t, err, "a denied write never reaches the store")
	})
	t.Run("list", func(t *testing.T) {
		keys, err := list(alice, "lake", "sales/")
		require.NoError(t, err)
		require.ElementsMatch(t, []string{"sales/2024/part-0.parquet", "sales/public/readme"}, keys)
		_, err = list(alice, "lake", "sales")
		require.Equal(t, "AccessDenied", apiCode(err), "prefix 'sales' also lists salesx/: wider than the grant")
		_, err = list(alice, "lake", "")
		require.Equal(t, "AccessDenied", apiCode(err), "listing the bucket needs a grant on the bucket")
		_, err = list(bob, "lake", "sales/")
		require.Equal(t, "AccessDenied", apiCode(err))
		keys, err = list(bob, "lake", "sales/public/")
		require.NoError(t, err)
		require.Equal(t, []string{"sales/public/readme"}, keys)
	})
	t.Run("buckets", func(t *testing.T) {
		_, err := bob.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("other")})
		require.NoError(t, err, "INSERT on the bucket")
		_, err = alice.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("lake")})
		require.Error(t, err, "grants on prefixes do not show the bucket")
		out, err := bob.ListBuckets(ctx, &s3.ListBucketsInput{})
		require.NoError(t, err)
		require.Len(t, out.Buckets, 1)
		require.Equal(t, "other", *out.Buckets[0].Name, "only visible buckets are listed")
		out, err = alice.ListBuckets(ctx, &s3.ListBucketsInput{})
		require.NoError(t, err)
		require.Empty(t, out.Buckets)
		_, err = bob.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("newbucket")})
		require.Equal(t, "AccessDenied", apiCode(err), "creating a bucket needs ALL on it")
	})
	t.Run("delete", func(t *testing.T) {
		require.NoError(t, put(t, alice, "lake", "scratch/alice/del.txt", "x"))
		_, err := alice.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("lake"), Key: aws.String("scratch/alice/del.txt")})
		require.NoError(t, err)
		_, err = bob.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("lake"), Key: aws.String("sales/public/readme")})
		require.Equal(t, "AccessDenied", apiCode(err), "SELECT does not allow deletes")
		_, err = alice.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("lake"), Key: aws.String("sales/2024/part-0.parquet")})
		require.Equal(t, "AccessDenied", apiCode(err))

		require.NoError(t, put(t, alice, "lake", "scratch/alice/a", "a"))
		require.NoError(t, put(t, alice, "lake", "scratch/alice/b", "b"))
		del := func(c *s3.Client, keys ...string) error {
			var ids []types.ObjectIdentifier
			for _, k := range keys {
				ids = append(ids, types.ObjectIdentifier{Key: aws.String(k)})
			}
			_, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("lake"), Delete: &types.Delete{Objects: ids}})
			return err
		}
		require.Equal(t, "AccessDenied", apiCode(del(alice, "scratch/alice/a", "eng/secret.txt")), "one unauthorized key refuses the batch")
		_, err = w.direct.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("lake"), Key: aws.String("scratch/alice/a")})
		require.NoError(t, err, "nothing of a refused batch is deleted")
		require.NoError(t, del(alice, "scratch/alice/a", "scratch/alice/b"))
		_, err = w.direct.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("lake"), Key: aws.String("scratch/alice/a")})
		require.Error(t, err)
	})
	t.Run("copy checks its source", func(t *testing.T) {
		_, err := alice.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("lake"), Key: aws.String("scratch/alice/copy"), CopySource: aws.String("lake/eng/secret.txt")})
		require.Equal(t, "AccessDenied", apiCode(err), "copy from an unauthorized source")
		_, err = alice.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("lake"), Key: aws.String("scratch/alice/copy"), CopySource: aws.String("lake/sales%2F..%2Feng%2Fsecret.txt")})
		require.Equal(t, "AccessDenied", apiCode(err), "an encoded traversal in the copy source")
		_, err = alice.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("lake"), Key: aws.String("sales/copy"), CopySource: aws.String("lake/sales/public/readme")})
		require.Equal(t, "AccessDenied", apiCode(err), "copy to an unauthorized target")
		_, err = alice.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("lake"), Key: aws.String("scratch/alice/copy"), CopySource: aws.String("lake/sales/public/readme")})
		require.NoError(t, err)
		s, err := get(t, alice, "lake", "scratch/alice/copy")
		require.NoError(t, err)
		require.Equal(t, "public", s)
	})
	t.Run("multipart", func(t *testing.T) {
		part := bytes.Repeat([]byte("m"), 5<<20)
		up, err := alice.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("lake"), Key: aws.String("scratch/alice/big")})
		require.NoError(t, err)
		var parts []types.CompletedPart
		for i := int32(1); i <= 2; i++ {
			p, err := alice.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("lake"), Key: aws.String("scratch/alice/big"), UploadId: up.UploadId, PartNumber: aws.Int32(i), Body: bytes.NewReader(part)})
			require.NoError(t, err)
			parts = append(parts, types.CompletedPart{ETag: p.ETag, PartNumber: aws.Int32(i)})
		}
		_, err = alice.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("lake"), Key: aws.String("scratch/alice/big"), UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		require.NoError(t, err)
		h, err := w.direct.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("lake"), Key: aws.String("scratch/alice/big")})
		require.NoError(t, err)
		require.Equal(t, int64(10<<20), *h.ContentLength)

		_, err = alice.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("lake"), Key: aws.String("sales/big")})
		require.Equal(t, "AccessDenied", apiCode(err))
		// an upload someone else started under a key alice may not write
		other, err := w.direct.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("lake"), Key: aws.String("eng/big")})
		require.NoError(t, err)
		_, err = alice.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("lake"), Key: aws.String("eng/big"), UploadId: other.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader(part)})
		require.Equal(t, "AccessDenied", apiCode(err))
		_, err = alice.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("lake"), Key: aws.String("eng/big"), UploadId: other.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		require.Equal(t, "AccessDenied", apiCode(err))
		_, err = alice.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("lake"), Key: aws.String("eng/big"), UploadId: other.UploadId})
		require.Equal(t, "AccessDenied", apiCode(err))
	})
	t.Run("streaming signed payloads (minio-go)", func(t *testing.T) {
		mc, err := minio.New(w.ensemble.addr, &minio.Options{Creds: miniocreds.NewStaticV4(ak.AccessKeyID, ak.SecretAccessKey, ""), Secure: false, Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
		require.NoError(t, err)
		data := bytes.Repeat([]byte("0123456789abcdef"), 20000)
		_, err = mc.PutObject(ctx, "lake", "scratch/alice/streamed", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
		require.NoError(t, err)
		out, err := w.direct.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("lake"), Key: aws.String("scratch/alice/streamed")})
		require.NoError(t, err)
		got, _ := io.ReadAll(out.Body)
		require.Equal(t, sha256.Sum256(data), sha256.Sum256(got))
		_, err = mc.PutObject(ctx, "lake", "sales/streamed", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
		require.Error(t, err)
		require.Equal(t, "AccessDenied", minio.ToErrorResponse(err).Code)
	})
	t.Run("virtual-host style", func(t *testing.T) {
		va := w.vhostClient(ak)
		s, err := get(t, va, "lake", "sales/2024/part-0.parquet")
		require.NoError(t, err)
		require.Equal(t, "sales data", s)
		_, err = get(t, va, "lake", "hr/salaries.csv")
		require.Equal(t, "AccessDenied", apiCode(err))
		require.NoError(t, put(t, va, "lake", "scratch/alice/vhost", "v"))
		keys, err := list(va, "lake", "scratch/alice/")
		require.NoError(t, err)
		require.Contains(t, keys, "scratch/alice/vhost")
	})
	t.Run("presigned URLs", func(t *testing.T) {
		pc := s3.NewPresignClient(alice)
		ok, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("lake"), Key: aws.String("sales/2024/part-0.parquet")}, s3.WithPresignExpires(10*time.Minute))
		require.NoError(t, err)
		resp, err := http.Get(ok.URL)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, "sales data", string(b))

		resp, err = http.Get(strings.Replace(ok.URL, "sales/2024/part-0.parquet", "hr/salaries.csv", 1))
		require.NoError(t, err)
		require.Equal(t, "SignatureDoesNotMatch", errorCode(t, resp), "tampered")
		denied, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("lake"), Key: aws.String("hr/salaries.csv")})
		require.NoError(t, err)
		resp, err = http.Get(denied.URL)
		require.NoError(t, err)
		require.Equal(t, "AccessDenied", errorCode(t, resp), "validly signed but not granted")
		u, _ := url.Parse(ok.URL)
		q := u.Query()
		q.Set("X-Amz-Expires", "604800")
		u.RawQuery = q.Encode()
		resp, err = http.Get(u.String())
		require.NoError(t, err)
		require.Equal(t, "SignatureDoesNotMatch", errorCode(t, resp), "extending the expiry breaks the signature")
		put, err := pc.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lake"), Key: aws.String("scratch/alice/presigned")})
		require.NoError(t, err)
		req, _ := http.NewRequest("PUT", put.URL, strings.NewReader("via presigned PUT"))
		resp, err = http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
	})
	t.Run("expired presigned URL", func(t *testing.T) {
		// Signed two hours ago for one hour: a captured URL used too late.
		req, _ := http.NewRequest("GET", w.endpoint()+"/lake/sales/2024/part-0.parquet?X-Amz-Expires=3600", nil)
		u, _, err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).PresignHTTP(ctx,
			aws.Credentials{AccessKeyID: ak.AccessKeyID, SecretAccessKey: ak.SecretAccessKey}, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now().Add(-2*time.Hour))
		require.NoError(t, err)
		resp, err := http.Get(u)
		require.NoError(t, err)
		require.Equal(t, "AccessDenied", errorCode(t, resp))
	})
	t.Run("wrong secret, unknown key", func(t *testing.T) {
		bad := ak
		bad.SecretAccessKey = "wrong" + ak.SecretAccessKey[5:]
		_, err := get(t, w.client(bad), "lake", "sales/2024/part-0.parquet")
		require.Equal(t, "SignatureDoesNotMatch", apiCode(err))
		unknown := accessKey{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "x"}
		_, err = get(t, w.client(unknown), "lake", "sales/2024/part-0.parquet")
		require.Equal(t, "InvalidAccessKeyId", apiCode(err))
		forged := ak
		forged.AccessKeyID = ak.AccessKeyID[:10] + "A" + ak.AccessKeyID[11:]
		if forged.AccessKeyID == ak.AccessKeyID {
			forged.AccessKeyID = ak.AccessKeyID[:10] + "B" + ak.AccessKeyID[11:]
		}
		_, err = get(t, w.client(forged), "lake", "sales/2024/part-0.parquet")
		require.Equal(t, "InvalidAccessKeyId", apiCode(err), "an altered key id")
	})
	t.Run("skewed clock and replay outside the window", func(t *testing.T) {
		resp := rawSigned(t, w, ak, "GET", "/lake/sales/2024/part-0.parquet", time.Now().Add(-16*time.Minute))
		require.Equal(t, "RequestTimeTooSkewed", errorCode(t, resp))
		resp = rawSigned(t, w, ak, "GET", "/lake/sales/2024/part-0.parquet", time.Now().Add(20*time.Minute))
		require.Equal(t, "RequestTimeTooSkewed", errorCode(t, resp))
		resp = rawSigned(t, w, ak, "GET", "/lake/sales/2024/part-0.parquet", time.Now().Add(-5*time.Minute))
		require.Equal(t, 200, resp.StatusCode, "inside the window")
		resp.Body.Close()
	})
	t.Run("path tricks do not escape a granted prefix", func(t *testing.T) {
		for _, p := range []string{
			"/lake/sales/../eng/secret.txt",
			"/lake/sales/%2E%2E/eng/secret.txt",
			"/lake/sales%2F..%2Feng%2Fsecret.txt",
			"/lake/sales/..%2Feng/secret.txt",
			"/lake/sales/./../hr/salaries.csv",
			"/lake//sales/2024/part-0.parquet",
			"/lake/sales//2024/part-0.parquet",
			"/lake/sales/%252E%252E/eng/secret.txt",
			"/lake/sales%E2%88%95..%E2%88%95eng%E2%88%95secret.txt", // U+2215 DIVISION SLASH
			"/lake/sales%EF%BC%8F..%EF%BC%8Feng",                    // U+FF0F FULLWIDTH SOLIDUS
			"/lake/sales%5C..%5Ceng%5Csecret.txt",
			"/lake/sales/%00/x",
		} {
			resp := rawSigned(t, w, ak, "GET", p, time.Now())
			require.Equal(t, "AccessDenied", errorCode(t, resp), p)
		}
		// An object whose key literally holds a fullwidth slash is not under
		// sales/: denied even though it exists.
		weird := "sales\uff0f..\uff0feng"
		_, err := w.direct.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lake"), Key: aws.String(weird), Body: strings.NewReader("x")})
		require.NoError(t, err)
		_, err = get(t, alice, "lake", weird)
		require.Equal(t, "AccessDenied", apiCode(err))
		// NFD spelling of a granted NFC name is another key: denied.
		w.sql(`GRANT SELECT ON URI 's3://lake/caf` + "\u00e9" + `' TO ROLE analyst`)
		_, err = get(t, alice, "lake", "cafe\u0301/x")
		require.Equal(t, "AccessDenied", apiCode(err))
	})
	t.Run("ambiguous requests are refused before the planner and the store", func(t *testing.T) {
		// A repeated query parameter: the proxy would authorize one value, the store act on another.
		for _, q := range []string{
			"list-type=2&prefix=hr%2F&prefix=sales%2F",
			"list-type=2&prefix=sales%2F&prefix=hr%2F",
			"list-type=2&list-type=2&prefix=sales%2F",
		} {
			resp := rawSignedQuery(t, w, ak, "GET", "/lake", q, nil, nil)
			require.Equal(t, 400, resp.StatusCode, q)
			require.Equal(t, "InvalidArgument", errorCode(t, resp), q)
		}
		resp := rawSignedQuery(t, w, ak, "GET", "/lake/sales/2024/part-0.parquet", "versionId=a&versionId=b", nil, nil)
		require.Equal(t, "InvalidArgument", errorCode(t, resp))
		// A header the proxy reads, given twice.
		resp = rawSignedQuery(t, w, ak, "PUT", "/lake/scratch/alice/copy", "", nil,
			[][2]string{{"X-Amz-Copy-Source", "/lake/sales/public/readme"}, {"X-Amz-Copy-Source", "/lake/hr/salaries.csv"}})
		require.Equal(t, "InvalidArgument", errorCode(t, resp))

		// DeleteObjects and CompleteMultipartUpload bodies are parsed strictly.
		require.NoError(t, put(t, alice, "lake", "scratch/alice/keep.txt", "x"))
		for name, body := range map[string]string{
			"repeated Key":      `<Delete><Object><Key>scratch/alice/keep.txt</Key><Key>hr/salaries.csv</Key></Object></Delete>`,
			"foreign namespace": `<Delete xmlns:e="urn:evil"><Object><Key>scratch/alice/keep.txt</Key><e:Key>hr/salaries.csv</e:Key></Object></Delete>`,
			"foreign root":      `<Delete xmlns="urn:evil"><Object><Key>scratch/alice/keep.txt</Key></Object></Delete>`,
			"DOCTYPE":           `<!DOCTYPE Delete [<!ENTITY k "hr/salaries.csv">]><Delete><Object><Key>&k;</Key></Object></Delete>`,
			"unknown element":   `<Delete><Object><Key>scratch/alice/keep.txt</Key></Object><Object><Name>hr/salaries.csv</Name></Object></Delete>`,
			"text between":      `<Delete>hr/salaries.csv<Object><Key>scratch/alice/keep.txt</Key></Object></Delete>`,
			"two roots":         `<Delete><Object><Key>scratch/alice/keep.txt</Key></Object></Delete><Delete><Object><Key>hr/salaries.csv</Key></Object></Delete>`,
		} {
			resp := rawSignedQuery(t, w, ak, "POST", "/lake", "delete=", []byte(body), [][2]string{{"Content-Type", "application/xml"}})
			require.Equal(t, "MalformedXML", errorCode(t, resp), name)
		}
		for _, key := range []string{"scratch/alice/keep.txt", "hr/salaries.csv"} {
			_, err := w.direct.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("lake"), Key: aws.String(key)})
			require.NoError(t, err, "%s must survive every refused DeleteObjects", key)
		}
		// The same body, well formed, is what the SDK sends: accepted.
		resp = rawSignedQuery(t, w, ak, "POST", "/lake", "delete=",
			[]byte(`<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>scratch/alice/keep.txt</Key></Object><Quiet>true</Quiet></Delete>`),
			[][2]string{{"Content-Type", "application/xml"}, {"Content-Md5", "x"}})
		require.NotEqual(t, "MalformedXML", errorCode(t, resp))

		up, err := alice.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("lake"), Key: aws.String("scratch/alice/mp")})
		require.NoError(t, err)
		resp = rawSignedQuery(t, w, ak, "POST", "/lake/scratch/alice/mp", "uploadId="+url.QueryEscape(*up.UploadId),
			[]byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><PartNumber>2</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>`), nil)
		require.Equal(t, "MalformedXML", errorCode(t, resp))
	})
	t.Run("revoked key", func(t *testing.T) {
		k := w.credentials(aliceTok)
		c := w.client(k)
		_, err := get(t, c, "lake", "sales/2024/part-0.parquet")
		require.NoError(t, err)
		mustRun(t, []string{"OKERA_TOKEN=" + aliceTok, "LAKEGATE_ENSEMBLE=" + w.endpoint()}, "ensemble", "revoke", "--access-key-id", k.AccessKeyID)
		_, err = get(t, c, "lake", "sales/2024/part-0.parquet")
		require.Equal(t, "InvalidAccessKeyId", apiCode(err))
		_, err = get(t, alice, "lake", "sales/2024/part-0.parquet")
		require.NoError(t, err, "other keys of the user still work")
		r := run(t, []string{"OKERA_TOKEN=" + bobTok, "LAKEGATE_ENSEMBLE=" + w.endpoint()}, "ensemble", "revoke", "--access-key-id", ak.AccessKeyID)
		require.Equal(t, 2, r.code, "bob may not revoke alice's key")
		require.Contains(t, r.stderr, "owner")
		r = run(t, []string{"OKERA_TOKEN=" + bobTok, "LAKEGATE_ENSEMBLE=" + w.endpoint()}, "ensemble", "revoke", "--user", "alice")
		require.Equal(t, 2, r.code)
	})
	t.Run("credentials need a valid token", func(t *testing.T) {
		r := run(t, []string{"OKERA_TOKEN=not-a-token", "LAKEGATE_ENSEMBLE=" + w.endpoint()}, "ensemble", "credentials")
		require.Equal(t, 2, r.code)
		require.Contains(t, r.stderr, "401")
		other := strings.TrimSpace(mustRun(t, nil, "token", "--self-signed", "--user", "root", "--groups", "admin"))
		r = run(t, []string{"OKERA_TOKEN=" + other, "LAKEGATE_ENSEMBLE=" + w.endpoint()}, "ensemble", "credentials")
		require.Equal(t, 2, r.code)
	})
	t.Run("an ordinary user cannot ask the planner on behalf of another", func(t *testing.T) {
		body := `{"principal":{"user":"root","groups":["admin"]},"objects":[{"uri":"s3://lake/hr/salaries.csv","action":"ACTION_SELECT"}]}`
		req, _ := http.NewRequest("POST", "http://"+w.planner.addr+"/lakegate.v1.PlannerService/AuthorizeOnBehalf", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+aliceTok)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 403, resp.StatusCode, string(b))
		require.Contains(t, string(b), "permission_denied")
	})
	t.Run("policy changes reach the proxy", func(t *testing.T) {
		_, err := get(t, bob, "lake", "hr/salaries.csv")
		require.Equal(t, "AccessDenied", apiCode(err))
		w.sql(`GRANT SELECT ON URI 's3://lake/hr' TO ROLE engineer`)
		require.Eventually(t, func() bool { _, err := get(t, bob, "lake", "hr/salaries.csv"); return err == nil }, 5*time.Second, 100*time.Millisecond)
		w.sql(`REVOKE SELECT ON URI 's3://lake/hr' FROM ROLE engineer`)
		require.Eventually(t, func() bool { _, err := get(t, bob, "lake", "hr/salaries.csv"); return apiCode(err) == "AccessDenied" }, 5*time.Second, 100*time.Millisecond)
	})
	t.Run("every decision is audited", func(t *testing.T) {
		r := mustRun(t, nil, "audit", "--data-dir", w.ensDir, "--user", "alice", "--denied", "--limit", "1000")
		require.Contains(t, r, "S3 GetObject")
		require.Contains(t, r, "s3://lake/eng/secret.txt")
		var n int
		require.NoError(t, audit.Read(w.ensDir+"/audit", audit.Query{}, func(rec audit.Record) error {
			if rec.User == "bob" && rec.StatementType == "S3 GetObject" && rec.Outcome == audit.OutcomeAllowed {
				n++
			}
			require.NotContains(t, rec.Statement+rec.Reason, ak.SecretAccessKey)
			return nil
		}))
		require.Positive(t, n)
		require.NotContains(t, w.ensemble.log.String(), ak.SecretAccessKey)
		require.NotContains(t, w.ensemble.log.String(), ak.AccessKeyID)
	})
	t.Run("planner down: refused, never data", func(t *testing.T) {
		w.planner.stop()
		time.Sleep(2100 * time.Millisecond) // past the decision cache
		_, err := get(t, alice, "lake", "sales/2024/part-0.parquet")
		require.Equal(t, "ServiceUnavailable", apiCode(err))
		resp := rawSigned(t, w, ak, "GET", "/lake/sales/2024/part-0.parquet", time.Now())
		require.Equal(t, 503, resp.StatusCode)
		require.Equal(t, "ServiceUnavailable", errorCode(t, resp))
	})
}

// sha is used by tests that compare bodies.
func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
