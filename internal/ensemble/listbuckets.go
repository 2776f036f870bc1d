package ensemble

import (
	"encoding/xml"
	"io"
	"net/http"

	"github.com/lakegate/lakegate/internal/s3keys"
)

type listBucketsResult struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListAllMyBucketsResult"`
	Owner   *struct {
		ID          string `xml:"ID"`
		DisplayName string `xml:"DisplayName,omitempty"`
	} `xml:"Owner,omitempty"`
	Buckets struct {
		Bucket []struct {
			Name         string `xml:"Name"`
			CreationDate string `xml:"CreationDate"`
			BucketRegion string `xml:"BucketRegion,omitempty"`
		} `xml:"Bucket"`
	} `xml:"Buckets"`
	ContinuationToken string `xml:"ContinuationToken,omitempty"`
	Prefix            string `xml:"Prefix,omitempty"`
}

// filterBuckets answers ListBuckets with the buckets the user may see (any
// of SHOW, SELECT, INSERT on s3://bucket), asked in one batch.
func (s *Server) filterBuckets(w http.ResponseWriter, r *http.Request, resp *http.Response, who *s3keys.Identity, rid string) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxListBucketsBody+1))
	var res listBucketsResult
	if err != nil || len(body) > maxListBucketsBody || xml.Unmarshal(body, &res) != nil {
		writeError(w, r, errUnavailable("the upstream bucket list could not be read"), rid)
		return
	}
	checks := make([]check, len(res.Buckets.Bucket))
	for i, b := range res.Buckets.Bucket {
		checks[i] = check{"s3://" + b.Name, bucketVisible}
	}
	keep := res.Buckets.Bucket[:0]
	if len(checks) > 0 {
		decisions, err := s.decider.Decide(r.Context(), who, "ListBuckets", checks)
		if err != nil {
			s.log.Error("no access decision for ListBuckets; refusing", "err", err)
			writeError(w, r, errUnavailable("lakegate could not get an access decision from the planner, so the request is refused; try again later"), rid)
			return
		}
		for i, d := range decisions {
			if d.Allowed {
				keep = append(keep, res.Buckets.Bucket[i])
			}
		}
	}
	res.Buckets.Bucket = keep
	out, err := xml.Marshal(res)
	if err != nil {
		writeError(w, r, errUnavailable("the bucket list could not be encoded"), rid)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("X-Amz-Request-Id", rid)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}
