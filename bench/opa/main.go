// Command opa compares lakegate's policy engine with OPA (Rego, as a Go
// library) on the same policy and the same requests, in the same run.
//
//	cd bench/opa && go run .
//
// It generates the benchmark policy (bench/gen: 100,000 grants), compiles it
// for lakegate and loads it as data for policy.rego, then
//
//  1. checks that both answer the same for every request of the sample
//     (allowed, row filter, full access, per column action and mask) and
//     exits 1 if one differs;
//  2. times each request with lakegate (Subject cached per session, as the
//     planner does; and Subject resolved per request, as OPA must) and OPA
//     (PrepareForEval once, then Eval per request with a pre-parsed input),
//     in alternating passes, and prints p50/p99/mean and the ratios;
//  3. does the same for a request on the 1,000-column table (300 masks).
//
// Module bench/opa has its own go.mod so OPA never becomes a dependency of
// lakegate; it may import lakegate's internal packages because its import
// path is under github.com/lakegate/lakegate.
package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/lakegate/lakegate/bench/gen"
	"github.com/lakegate/lakegate/bench/stats"
	"github.com/lakegate/lakegate/internal/policy"
)

//go:embed policy.rego
var policySrc string

const query = "data.lakegate.authz.decisions"

type request struct {
	user    gen.User
	subject *policy.Subject // resolved once, as a session would
	objs    []policy.Object
	input   ast.Value
	goInput map[string]any
}

func main() {
	nReq := flag.Int("requests", 1000, "requests in the sample (checked and timed)")
	rounds := flag.Int("rounds", 5, "timed passes over the sample per engine")
	nWide := flag.Int("wide-requests", 100, "requests on the 1,000-column table")
	wideRounds := flag.Int("wide-rounds", 3, "timed passes over the wide sample")
	flag.Parse()
	if err := run(*nReq, *rounds, *nWide, *wideRounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench/opa:", err)
		os.Exit(1)
	}
}

func run(nReq, rounds, nWide, wideRounds int) error {
	ctx := context.Background()
	fmt.Printf("lakegate policy engine vs OPA %s — GOMAXPROCS=%d, %s\n\n", opaVersion(), runtime.GOMAXPROCS(0), runtime.Version())

	t0 := time.Now()
	d := gen.Generate(gen.Default())
	st := d.State
	fmt.Printf("policy: %d grants, %d roles, %d tables, %d users (generated in %s)\n",
		len(st.Grants), len(st.Roles), len(st.Tables), len(d.Users), stats.D(time.Since(t0)))

	t0 = time.Now()
	pol, err := policy.Compile(st, policy.Options{})
	if err != nil {
		return err
	}
	compileLG := time.Since(t0)

	t0 = time.Now()
	data, dataBytes, err := buildData(st, "admin")
	if err != nil {
		return err
	}
	convert := time.Since(t0)
	t0 = time.Now()
	pq, err := rego.New(
		rego.Query(query),
		rego.Module("policy.rego", policySrc),
		rego.Store(inmem.NewFromASTObject(data)),
	).PrepareForEval(ctx)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	prepare := time.Since(t0)
	fmt.Printf("load: lakegate Compile %s; OPA data document %d MB built in %s, PrepareForEval %s\n\n",
		stats.D(compileLG), dataBytes>>20, stats.D(convert), stats.D(prepare))

	// The sample: every 10th user, the standard request (sales.customers and
	// three tables the user holds a grant on), every 4th with a random fifth
	// table (often denied).
	rng := rand.New(rand.NewPCG(7, 11))
	step := max(1, len(d.Users)/nReq)
	var reqs []*request
	for i := 0; i < nReq; i++ {
		u := d.Users[(i*step)%len(d.Users)]
		reqs = append(reqs, newRequest(pol, u, d.Request(rng, u, i%4 == 0)))
	}
	var wide []*request
	for i := 0; i < nWide; i++ {
		u := d.Users[(i*97+13)%len(d.Users)]
		wide = append(wide, newRequest(pol, u, []policy.Object{d.Object(gen.SalesDB, gen.HugeTable)}))
	}

	// 1. Equivalence.
	t0 = time.Now()
	objects, columns, denied, masked := 0, 0, 0, 0
	for _, set := range [][]*request{reqs, wide} {
		for _, r := range set {
			want := pol.Authorize(r.subject, r.objs)
			got, err := evalOPA(ctx, pq, r.input)
			if err != nil {
				return err
			}
			if diff := sameDecisions(want, got); diff != "" {
				return fmt.Errorf("OPA and lakegate disagree for %s: %s", r.user.Name, diff)
			}
			for _, dec := range want {
				objects++
				columns += len(dec.Columns)
				if !dec.Allowed {
					denied++
				}
				for _, c := range dec.Columns {
					if c.Action == policy.Masked {
						masked++
					}
				}
			}
		}
	}
	fmt.Printf("equivalence: %d requests (%d objects, %d denied, %d column decisions, %d masked): OPA's answer equals lakegate's for every one (%s)\n\n",
		len(reqs)+len(wide), objects, denied, columns, masked, stats.D(time.Since(t0)))

	// 2. Timing, standard request.
	fmt.Printf("per request (one Authorize call = one query: sales.customers, 100 columns with 20 masked + row filter, and 2-4 more tables):\n")
	std := timeAll(ctx, pol, pq, reqs, rounds, true)
	printTable(std, len(reqs)*rounds)

	// 3. Timing, the 1,000-column table.
	fmt.Printf("\nper request on sales.events_wide (1,000 columns, 300 masked, row filter):\n")
	w := timeAll(ctx, pol, pq, wide, wideRounds, false)
	printTable(w, len(wide)*wideRounds)
	return nil
}

func opaVersion() string {
	if bi, ok := readBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "github.com/open-policy-agent/opa" {
				return m.Version
			}
		}
	}
	return "(version unknown)"
}

func newRequest(pol *policy.Policy, u gen.User, objs []policy.Object) *request {
	p := u.Principal()
	in := inputOf(p, objs)
	v, err := ast.InterfaceToValue(in)
	if err != nil {
		panic(err)
	}
	return &request{user: u, subject: pol.Subject(p), objs: objs, input: v, goInput: in}
}

func evalOPA(ctx context.Context, pq rego.PreparedEvalQuery, input ast.Value) (any, error) {
	rs, err := pq.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return nil, err
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return nil, fmt.Errorf("OPA returned %d results", len(rs))
	}
	return rs[0].Expressions[0].Value, nil
}

type timings struct {
	names   []string
	samples map[string][]time.Duration
}

const (
	lgCached  = "lakegate Authorize (Subject cached per session)"
	lgSubject = "lakegate Subject + Authorize (per request)"
	opaParsed = "OPA Eval (input pre-parsed to AST)"
	opaGo     = "OPA Eval (input as Go map, as rego.EvalInput)"
)

// timeAll runs alternating passes: lakegate cached, lakegate with Subject,
// OPA; each pass times every request once.
func timeAll(ctx context.Context, pol *policy.Policy, pq rego.PreparedEvalQuery, reqs []*request, rounds int, withGoInput bool) *timings {
	t := &timings{names: []string{lgCached, lgSubject, opaParsed}, samples: map[string][]time.Duration{}}
	if withGoInput {
		t.names = append(t.names, opaGo)
	}
	// Warm up both.
	for _, r := range reqs[:min(len(reqs), 50)] {
		pol.Authorize(r.subject, r.objs)
		_, _ = evalOPA(ctx, pq, r.input)
	}
	var sink int
	for range rounds {
		runtime.GC()
		for _, r := range reqs {
			s := time.Now()
			ds := pol.Authorize(r.subject, r.objs)
			t.samples[lgCached] = append(t.samples[lgCached], time.Since(s))
			sink += len(ds)
		}
		runtime.GC()
		for _, r := range reqs {
			s := time.Now()
			ds := pol.Authorize(pol.Subject(r.user.Principal()), r.objs)
			t.samples[lgSubject] = append(t.samples[lgSubject], time.Since(s))
			sink += len(ds)
		}
		runtime.GC()
		for _, r := range reqs {
			s := time.Now()
			v, err := evalOPA(ctx, pq, r.input)
			t.samples[opaParsed] = append(t.samples[opaParsed], time.Since(s))
			if err != nil {
				panic(err)
			}
			sink += len(v.([]any))
		}
		if withGoInput {
			runtime.GC()
			for _, r := range reqs {
				s := time.Now()
				rs, err := pq.Eval(ctx, rego.EvalInput(r.goInput))
				t.samples[opaGo] = append(t.samples[opaGo], time.Since(s))
				if err != nil {
					panic(err)
				}
				sink += len(rs)
			}
		}
	}
	if sink == 0 {
		panic("nothing decided")
	}
	return t
}

func printTable(t *timings, n int) {
	sum := map[string]stats.Summary{}
	fmt.Printf("  %-50s %10s %10s %10s %10s\n", "engine", "p50", "p99", "mean", "max")
	for _, name := range t.names {
		s := stats.Of(t.samples[name])
		sum[name] = s
		fmt.Printf("  %-50s %10s %10s %10s %10s\n", name, stats.D(s.P50), stats.D(s.P99), stats.D(s.Mean), stats.D(s.Max))
	}
	o := sum[opaParsed]
	for _, name := range []string{lgCached, lgSubject} {
		s := sum[name]
		fmt.Printf("  ratio %-44s p50 %.3f×  p99 %.3f×  mean %.3f× OPA's time (target ≤ 0.5×: %s)\n", name+":",
			ratio(s.P50, o.P50), ratio(s.P99, o.P99), ratio(s.Mean, o.Mean), stats.Met(ratio(s.Mean, o.Mean) <= 0.5 && ratio(s.P99, o.P99) <= 0.5))
	}
	fmt.Printf("  (%d timed requests per engine)\n", n)
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
