package ensemble

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/require"
)

// sdkBodies records the request bodies the AWS SDK's own serializers write.
func sdkBodies(t *testing.T) (*s3.Client, func() []byte) {
	var mu sync.Mutex
	var last []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		last = b
		mu.Unlock()
		w.WriteHeader(http.StatusInternalServerError) // the SDK's answer does not matter
	}))
	t.Cleanup(srv.Close)
	c := s3.New(s3.Options{
		BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", UsePathStyle: true,
		Credentials:      credentials.NewStaticCredentialsProvider("AK", "SK", ""),
		RetryMaxAttempts: 1,
	})
	return c, func() []byte { mu.Lock(); defer mu.Unlock(); return last }
}

// weirdKey is a key with the characters XML escaping must get right.
func weirdKey(r *rand.Rand) string {
	const alphabet = "abc/._-&<>'\" \t日本é\u00a0%+=?#;:"
	rs := []rune(alphabet)
	n := 1 + r.IntN(40)
	out := make([]rune, n)
	for i := range out {
		out[i] = rs[r.IntN(len(rs))]
	}
	return string(out)
}

// Differential: whatever the SDK serializes, the proxy's strict parser reads
// the very same keys and parts.
func TestStrictXMLReadsWhatTheSDKWrites(t *testing.T) {
	c, body := sdkBodies(t)
	r := rand.New(rand.NewPCG(7, 11))
	for i := 0; i < 200; i++ {
		var keys []string
		var ids []types.ObjectIdentifier
		for j := 0; j < 1+r.IntN(20); j++ {
			k := weirdKey(r)
			keys = append(keys, k)
			id := types.ObjectIdentifier{Key: aws.String(k)}
			if r.IntN(3) == 0 {
				id.VersionId = aws.String(strconv.Itoa(r.IntN(1000)))
			}
			ids = append(ids, id)
		}
		_, _ = c.DeleteObjects(context.Background(), &s3.DeleteObjectsInput{Bucket: aws.String("lake"),
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(r.IntN(2) == 0)}})
		buf, got, err := readDeleteBody(bytesReader(body()))
		require.Nil(t, err, "case %d: %s", i, buf)
		require.Equal(t, keys, got, "case %d", i)

		var parts []types.CompletedPart
		for j := 0; j < 1+r.IntN(10); j++ {
			parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(int32(j + 1)), ETag: aws.String(fmt.Sprintf("\"%x\"", r.Uint64())),
				ChecksumCRC32: aws.String("AAAAAA==")})
		}
		_, _ = c.CompleteMultipartUpload(context.Background(), &s3.CompleteMultipartUploadInput{Bucket: aws.String("lake"),
			Key: aws.String("k"), UploadId: aws.String("u"), MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		root, perr := parseStrictXML(body(), "CompleteMultipartUpload", completeShape)
		require.Nil(t, perr, "case %d", i)
		require.Len(t, root.children, len(parts))
		for j, p := range root.children {
			require.Equal(t, strconv.Itoa(j+1), p.child("PartNumber").text)
			require.Equal(t, *parts[j].ETag, p.child("ETag").text)
		}
	}
}

// Every body the proxy and a store could read differently is refused.
func TestStrictXMLRefusesAmbiguity(t *testing.T) {
	for name, body := range map[string]string{
		"repeated Key":              `<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>`,
		"repeated Quiet":            `<Delete><Object><Key>a</Key></Object><Quiet>true</Quiet><Quiet>false</Quiet></Delete>`,
		"foreign namespace element": `<Delete xmlns:e="urn:x"><Object><Key>a</Key><e:Key>b</e:Key></Object></Delete>`,
		"foreign default namespace": `<Delete xmlns="urn:x"><Object><Key>a</Key></Object></Delete>`,
		"namespaced child moved":    `<Delete><Object xmlns="urn:x"><Key>a</Key></Object></Delete>`,
		"attribute":                 `<Delete><Object><Key from="b">a</Key></Object></Delete>`,
		"DOCTYPE and entity":        `<!DOCTYPE d [<!ENTITY k "b">]><Delete><Object><Key>&k;</Key></Object></Delete>`,
		"unknown element":           `<Delete><Object><Key>a</Key><Path>b</Path></Object></Delete>`,
		"element inside a leaf":     `<Delete><Object><Key>a<Key>b</Key></Key></Object></Delete>`,
		"text in a container":       `<Delete>b<Object><Key>a</Key></Object></Delete>`,
		"two roots":                 `<Delete><Object><Key>a</Key></Object></Delete><Delete><Object><Key>b</Key></Object></Delete>`,
		"text after the root":       `<Delete><Object><Key>a</Key></Object></Delete>b`,
		"object without a key":      `<Delete><Object><VersionId>1</VersionId></Object></Delete>`,
		"no object":                 `<Delete><Quiet>true</Quiet></Delete>`,
		"wrong root":                `<Remove><Object><Key>a</Key></Object></Remove>`,
		"processing instruction":    `<Delete><?php x?><Object><Key>a</Key></Object></Delete>`,
		"not well formed":           `<Delete><Object><Key>a</Object></Key></Delete>`,
		"unknown entity":            `<Delete><Object><Key>&nbsp;</Key></Object></Delete>`,
	} {
		_, _, err := readDeleteBody(bytesReader([]byte(body)))
		require.NotNil(t, err, name)
		require.Equal(t, "MalformedXML", err.Code, name)
	}
	for name, body := range map[string]string{
		"repeated PartNumber": `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><PartNumber>2</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>`,
		"repeated ETag":       `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag><ETag>f</ETag></Part></CompleteMultipartUpload>`,
		"part without ETag":   `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>`,
		"foreign element":     `<CompleteMultipartUpload xmlns:e="urn:x"><Part><PartNumber>1</PartNumber><ETag>e</ETag><e:Part/></Part></CompleteMultipartUpload>`,
	} {
		_, err := parseStrictXML([]byte(body), "CompleteMultipartUpload", completeShape)
		require.NotNil(t, err, name)
		require.Equal(t, "MalformedXML", err.Code, name)
	}
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// FuzzStrictDeleteBody: on any body the strict parser never panics, and a body
// it accepts means the same keys to encoding/xml's lenient reading (what a
// store built on a permissive parser would see): accepted means unambiguous.
func FuzzStrictDeleteBody(f *testing.F) {
	for _, s := range []string{
		`<Delete><Object><Key>a</Key></Object></Delete>`,
		`<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a&amp;b</Key><VersionId>1</VersionId></Object><Quiet>true</Quiet></Delete>`,
		`<?xml version="1.0"?><Delete><Object><Key><![CDATA[x/y]]></Key></Object><!-- c --></Delete>`,
		`<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, keys, err := readDeleteBody(bytes.NewReader(body))
		if err != nil {
			return
		}
		var d struct {
			Objects []struct {
				Key string `xml:"Key"`
			} `xml:"Object"`
		}
		if uerr := xml.Unmarshal(body, &d); uerr != nil {
			t.Fatalf("strict parser accepted what encoding/xml refuses (%v): %q", uerr, body)
		}
		if len(d.Objects) != len(keys) {
			t.Fatalf("strict: %d keys, encoding/xml: %d objects: %q", len(keys), len(d.Objects), body)
		}
		for i, o := range d.Objects {
			if o.Key != keys[i] {
				t.Fatalf("key %d: strict %q, encoding/xml %q: %q", i, keys[i], o.Key, body)
			}
		}
	})
}
