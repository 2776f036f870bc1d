package main

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/lakegate/lakegate/bench/gen"
	"github.com/lakegate/lakegate/internal/policy"
)

var (
	fixOnce sync.Once
	fixPol  *policy.Policy
	fixPQ   rego.PreparedEvalQuery
	fixReqs []*request
	fixErr  error
)

// fixture: the generated policy for lakegate and OPA, and 1,000 requests
// (every 10th user, the standard query, every 4th with a random table).
func fixture(tb testing.TB) (*policy.Policy, rego.PreparedEvalQuery, []*request) {
	tb.Helper()
	fixOnce.Do(func() {
		d := gen.Generate(gen.Default())
		if fixPol, fixErr = policy.Compile(d.State, policy.Options{}); fixErr != nil {
			return
		}
		data, _, err := buildData(d.State, "admin")
		if err != nil {
			fixErr = err
			return
		}
		fixPQ, fixErr = rego.New(rego.Query(query), rego.Module("policy.rego", policySrc),
			rego.Store(inmem.NewFromASTObject(data))).PrepareForEval(context.Background())
		rng := rand.New(rand.NewPCG(7, 11))
		for i := range 1000 {
			u := d.Users[i*10]
			fixReqs = append(fixReqs, newRequest(fixPol, u, d.Request(rng, u, i%4 == 0)))
		}
	})
	if fixErr != nil {
		tb.Fatal(fixErr)
	}
	return fixPol, fixPQ, fixReqs
}

// TestEquivalence: for 1,000 requests OPA's per-column answer equals
// lakegate's, so the timing compares the same work.
func TestEquivalence(t *testing.T) {
	pol, pq, reqs := fixture(t)
	for _, r := range reqs {
		got, err := evalOPA(context.Background(), pq, r.input)
		if err != nil {
			t.Fatal(err)
		}
		if diff := sameDecisions(pol.Authorize(r.subject, r.objs), got); diff != "" {
			t.Fatalf("%s: %s", r.user.Name, diff)
		}
	}
}

func BenchmarkLakegateAuthorize(b *testing.B) {
	pol, _, reqs := fixture(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := reqs[i%len(reqs)]
		pol.Authorize(r.subject, r.objs)
		i++
	}
}

func BenchmarkOPAEval(b *testing.B) {
	_, pq, reqs := fixture(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := evalOPA(context.Background(), pq, reqs[i%len(reqs)].input); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
