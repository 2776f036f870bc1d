package policy_test

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/lakegate/lakegate/bench/gen"
	"github.com/lakegate/lakegate/internal/policy"
)

// The benchmark policy of bench/gen: 100,000 grants, 1,000 roles, 10,000
// tables, users in 20 groups. See bench/RESULTS.md for the figures and
// bench/run.sh for the whole suite.

var (
	benchOnce sync.Once
	benchData *gen.Data
	benchPol  *policy.Policy
)

func benchPolicy(b *testing.B) (*gen.Data, *policy.Policy) {
	b.Helper()
	benchOnce.Do(func() {
		benchData = gen.Generate(gen.Default())
		var err error
		if benchPol, err = policy.Compile(benchData.State, policy.Options{}); err != nil {
			panic(err)
		}
	})
	return benchData, benchPol
}

type benchReq struct {
	p    policy.Principal
	s    *policy.Subject
	objs []policy.Object
}

// benchRequests returns n standard requests (sales.customers with 100
// columns, 20 masked, row filter, plus three tables) of n different users.
func benchRequests(b *testing.B, n int) (*policy.Policy, []benchReq) {
	d, pol := benchPolicy(b)
	rng := rand.New(rand.NewPCG(7, 11))
	out := make([]benchReq, n)
	for i := range out {
		u := d.Users[(i*10)%len(d.Users)]
		p := u.Principal()
		out[i] = benchReq{p: p, s: pol.Subject(p), objs: d.Request(rng, u, false)}
	}
	return pol, out
}

// BenchmarkCompile100k is policy.Compile of the whole benchmark store.
func BenchmarkCompile100k(b *testing.B) {
	d, _ := benchPolicy(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := policy.Compile(d.State, policy.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSubject is resolving a user in 20 groups (what the planner does
// once per session and policy version).
func BenchmarkSubject(b *testing.B) {
	pol, reqs := benchRequests(b, 100)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		pol.Subject(reqs[i%len(reqs)].p)
		i++
	}
}

// BenchmarkAuthorize is one standard request with the session's Subject.
func BenchmarkAuthorize(b *testing.B) {
	pol, reqs := benchRequests(b, 100)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := &reqs[i%len(reqs)]
		pol.Authorize(r.s, r.objs)
		i++
	}
}

// BenchmarkAuthorizeCustomers is sales.customers alone (100 columns, 20
// masked, row filter).
func BenchmarkAuthorizeCustomers(b *testing.B) {
	d, pol := benchPolicy(b)
	s := pol.Subject(d.Users[1].Principal())
	objs := []policy.Object{d.Object(gen.SalesDB, gen.WideTable)}
	b.ReportAllocs()
	for b.Loop() {
		pol.Authorize(s, objs)
	}
}

// BenchmarkAuthorizeWide1000 is sales.events_wide alone (1,000 columns,
// 300 masked, row filter).
func BenchmarkAuthorizeWide1000(b *testing.B) {
	d, pol := benchPolicy(b)
	s := pol.Subject(d.Users[1].Principal())
	objs := []policy.Object{d.Object(gen.SalesDB, gen.HugeTable)}
	b.ReportAllocs()
	for b.Loop() {
		pol.Authorize(s, objs)
	}
}

// BenchmarkAuthorizeDenied is a table no grant of the user reaches (the
// reason is formatted).
func BenchmarkAuthorizeDenied(b *testing.B) {
	d, pol := benchPolicy(b)
	s := pol.Subject(d.Users[1].Principal())
	var objs []policy.Object
	for _, t := range d.State.Tables {
		o := d.Object(t.Database, t.Name)
		if !pol.Authorize(s, []policy.Object{o})[0].Allowed {
			objs = []policy.Object{o}
			break
		}
	}
	if objs == nil {
		b.Skip("user 1 may read every table")
	}
	b.ReportAllocs()
	for b.Loop() {
		pol.Authorize(s, objs)
	}
}

// BenchmarkAuthorizeParallel is standard requests from GOMAXPROCS
// goroutines: decisions per second of the engine alone.
func BenchmarkAuthorizeParallel(b *testing.B) {
	pol, reqs := benchRequests(b, 100)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(len(reqs))
		for pb.Next() {
			r := &reqs[i%len(reqs)]
			pol.Authorize(r.s, r.objs)
			i++
		}
	})
}
