package planner

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/lakegate/lakegate/bench/gen"
	lakegatev1 "github.com/lakegate/lakegate/gen/lakegate/v1"
	"github.com/lakegate/lakegate/internal/authn"
	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/policysql"
	"github.com/lakegate/lakegate/internal/session"
	"github.com/lakegate/lakegate/internal/store"
	"github.com/lakegate/lakegate/internal/store/sqlite"
)

// Planner benchmarks on the bench/gen policy (100,000 grants). The HTTP
// figures against the real binary come from bench/loadgen; these measure
// what a process boundary would hide: the planner's own cost per request,
// and the memory of its session table. See bench/RESULTS.md.

// benchMemStore is a store.Store holding one state in memory: the planner reads
// it once at New. The benchmarks do not write policy.
type benchMemStore struct{ st *catalog.State }

func (m *benchMemStore) Load(context.Context) (*catalog.State, error) { return m.st.Clone(), nil }
func (m *benchMemStore) Apply(context.Context, func(store.Tx) error) (int64, error) {
	return 0, fmt.Errorf("benchMemStore is read-only")
}
func (m *benchMemStore) Close() error { return nil }

type benchPlanner struct {
	s      *Server
	data   *gen.Data
	key    *rsa.PrivateKey
	tokens []string // one per user, in gen.Data.Users order
}

// newBenchPlanner starts a planner (no listener) on the generated policy
// with a 2048-bit RSA verification key, and signs one token per user for
// the first nUsers users.
func newBenchPlanner(b *testing.B, maxSessions, nUsers int) *benchPlanner {
	b.Helper()
	dir := b.TempDir()
	key, err := rsa.GenerateKey(crand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		b.Fatal(err)
	}
	pub := filepath.Join(dir, "jwt-public.pem")
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		b.Fatal(err)
	}
	d := gen.Generate(gen.Default())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(context.Background(), Config{
		MaxSessions: maxSessions,
		Auth:        authn.Config{PublicKeyFiles: []string{pub}, Logger: log},
		Logger:      log,
	}, &benchMemStore{st: d.State}, dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.close)
	bp := &benchPlanner{s: s, data: d, key: key, tokens: make([]string, nUsers)}
	benchParallel(nUsers, func(i int) {
		u := d.Users[i]
		tok, err := authn.SignToken(key, authn.TokenSpec{User: u.Name, Groups: u.Groups, Attributes: u.Attributes, TTL: 2 * time.Hour}, time.Now())
		if err != nil {
			panic(err)
		}
		bp.tokens[i] = tok
	})
	return bp
}

// benchParallel runs f(0) … f(n-1) on GOMAXPROCS goroutines.
func benchParallel(n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

func benchSessionID(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i) } // 36 bytes, like a UUID

func benchHeap() (inuse, alloc uint64) {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapInuse, m.HeapAlloc
}

func benchEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkSessionMemory fills the planner's session table the way
// production does — every session authenticates through Server.authenticate,
// verifying its own token and resolving its own Subject — with
// LAKEGATE_BENCH_SESSIONS sessions (default 1,000,000) over
// LAKEGATE_BENCH_USERS users (default 10,000), and reports the heap growth.
// It then measures the table alone (every session pointing at one shared
// entry per user) to split the cost between the table and what each entry
// holds. Run it once: -bench SessionMemory -benchtime 1x.
func BenchmarkSessionMemory(b *testing.B) {
	n := benchEnvInt("LAKEGATE_BENCH_SESSIONS", 1_000_000)
	users := benchEnvInt("LAKEGATE_BENCH_USERS", 10_000)
	bp := newBenchPlanner(b, max(n, session.DefaultCapacity), users)
	s := bp.s
	headers := make([]http.Header, users)
	for i, t := range bp.tokens {
		headers[i] = http.Header{"Authorization": {"Bearer " + t}}
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = benchSessionID(i)
	}
	ctx := context.Background()
	for b.Loop() {
		// 1. The real path.
		inuse0, alloc0 := benchHeap()
		start := time.Now()
		benchParallel(n, func(i int) {
			if _, err := s.authenticate(ctx, headers[i%users], "127.0.0.1:1", ids[i], "spark", "bench"); err != nil {
				panic(err)
			}
		})
		elapsed := time.Since(start)
		inuse1, alloc1 := benchHeap()
		if got := s.sessions.Len(); got != n {
			b.Fatalf("table holds %d sessions, want %d", got, n)
		}
		realInuse, realAlloc := int64(inuse1-inuse0), int64(alloc1-alloc0)

		// 2. The table alone: same keys, one shared entry per user.
		shared := make([]*sessionEntry, users)
		for i := range shared {
			e, _ := s.sessions.Get("session:" + ids[i])
			shared[i] = e
		}
		s.sessions = session.New[*sessionEntry](max(n, session.DefaultCapacity))
		inuse2, alloc2 := benchHeap()
		for i, id := range ids {
			s.sessions.Put("session:"+id, shared[i%users])
		}
		inuse3, alloc3 := benchHeap()
		tableInuse, tableAlloc := int64(inuse3-inuse2), int64(alloc3-alloc2)

		// 3. What one entry holds, measured on 100,000 of them.
		const m = 100_000
		ps := make([]*authn.Principal, m)
		inuse4, _ := benchHeap()
		for i := range ps {
			p, err := s.verifier.Verify(bp.tokens[i%users], time.Now())
			if err != nil {
				b.Fatal(err)
			}
			ps[i] = p
		}
		inuse5, _ := benchHeap()
		pol := s.snapshot().policy
		subs := make([]any, m)
		for i := range subs {
			subs[i] = pol.Subject(toPolicyPrincipal(ps[i%users]))
		}
		inuse6, _ := benchHeap()
		principalBytes := float64(inuse5-inuse4) / m
		subjectBytes := float64(inuse6-inuse5) / m
		runtime.KeepAlive(ps)
		runtime.KeepAlive(subs)

		const mib = 1 << 20
		b.ReportMetric(float64(realInuse)/mib, "MiB-heapinuse")
		b.ReportMetric(float64(realInuse)/float64(n), "B/session")
		b.ReportMetric(float64(tableInuse)/float64(n), "B/session-table-only")
		b.ReportMetric(principalBytes, "B/principal")
		b.ReportMetric(subjectBytes, "B/subject")
		target := int64(512 * mib)
		verdict := "met"
		if realInuse > target {
			verdict = fmt.Sprintf("MISSED by %.0f MiB (%.2f× the target)", float64(realInuse-target)/mib, float64(realInuse)/float64(target))
		}
		fmt.Printf("\nsession table: %d sessions over %d users, each verifying its own token through Server.authenticate (%s, %.0f sessions/s)\n",
			n, users, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
		fmt.Printf("  HeapInuse delta %.0f MiB (HeapAlloc delta %.0f MiB) = %.0f B/session; target ≤ 512 MiB: %s\n",
			float64(realInuse)/mib, float64(realAlloc)/mib, float64(realInuse)/float64(n), verdict)
		fmt.Printf("  the table alone (same %d keys, values shared per user): HeapInuse %.0f MiB (HeapAlloc %.0f MiB) = %.0f B/session\n",
			n, float64(tableInuse)/mib, float64(tableAlloc)/mib, float64(tableInuse)/float64(n))
		fmt.Printf("  per entry: authn.Principal %.0f B, policy.Subject %.0f B (user in %d groups, %d roles), sessionEntry %d B\n",
			principalBytes, subjectBytes, len(bp.data.Users[0].Groups), len(pol.Subject(toPolicyPrincipal(ps[0])).Roles), unsafe.Sizeof(sessionEntry{}))
		perSession := float64(tableInuse)/float64(n) + principalBytes + subjectBytes + float64(unsafe.Sizeof(sessionEntry{}))
		fmt.Printf("  worst case, every session a different user (nothing to share): about %.0f B/session, %.0f MiB for %d sessions\n",
			perSession, perSession*float64(n)/mib, n)
	}
}

// BenchmarkPlannerAuthorize is the planner's Authorize handler without
// HTTP: authentication through a cached session, request conversion, the
// engine, the response message, metrics and the audit record. Compare with
// the engine alone (internal/policy BenchmarkAuthorize) and with loopback
// HTTP (bench/loadgen).
func BenchmarkPlannerAuthorize(b *testing.B) {
	bp := newBenchPlanner(b, 0, 64)
	a := &api{s: bp.s}
	rng := rand.New(rand.NewPCG(7, 11))
	type req struct {
		msg *lakegatev1.AuthorizeRequest
		tok string
	}
	var reqs []req
	for i := range 64 {
		u := bp.data.Users[i]
		m := &lakegatev1.AuthorizeRequest{SessionId: benchSessionID(i), Client: "spark", Action: lakegatev1.Action_ACTION_SELECT,
			Statement: "SELECT * FROM sales.customers JOIN …"}
		for _, o := range bp.data.Request(rng, u, false) {
			ao := &lakegatev1.AuthObject{Database: o.Database, Table: o.Table}
			for _, c := range o.Columns {
				ao.Columns = append(ao.Columns, &lakegatev1.Column{Name: c.Name, Type: c.Type})
			}
			m.Objects = append(m.Objects, ao)
		}
		reqs = append(reqs, req{msg: m, tok: "Bearer " + bp.tokens[i]})
	}
	ctx := context.Background()
	call := func(r req) {
		cr := connect.NewRequest(r.msg)
		cr.Header().Set("Authorization", r.tok)
		if _, err := a.Authorize(ctx, cr); err != nil {
			b.Fatal(err)
		}
	}
	for _, r := range reqs { // authenticate every session once
		call(r)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		call(reqs[i%len(reqs)])
		i++
	}
}

// BenchmarkPlannerHTTP is BenchmarkPlannerAuthorize through the planner's
// HTTP handler on a loopback listener, as Connect JSON (what the Spark
// extension sends); client and server share the process and its cores.
func BenchmarkPlannerHTTP(b *testing.B) {
	bp := newBenchPlanner(b, 0, 64)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: bp.s.Handler()}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	url := "http://" + ln.Addr().String() + "/lakegate.v1.PlannerService/Authorize"
	rng := rand.New(rand.NewPCG(7, 11))
	type req struct {
		body []byte
		auth string
	}
	var reqs []req
	for i := range 64 {
		u := bp.data.Users[i]
		m := &lakegatev1.AuthorizeRequest{SessionId: benchSessionID(i), Client: "spark", Action: lakegatev1.Action_ACTION_SELECT,
			Statement: "SELECT * FROM sales.customers JOIN …"}
		for _, o := range bp.data.Request(rng, u, false) {
			ao := &lakegatev1.AuthObject{Database: o.Database, Table: o.Table}
			for _, c := range o.Columns {
				ao.Columns = append(ao.Columns, &lakegatev1.Column{Name: c.Name, Type: c.Type})
			}
			m.Objects = append(m.Objects, ao)
		}
		body, err := protojson.Marshal(m)
		if err != nil {
			b.Fatal(err)
		}
		reqs = append(reqs, req{body: body, auth: "Bearer " + bp.tokens[i]})
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8, DisableCompression: true}}
	call := func(r req) {
		hr, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(r.body))
		hr.Header.Set("Content-Type", "application/json")
		hr.Header.Set("Authorization", r.auth)
		resp, err := hc.Do(hr)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("HTTP %d", resp.StatusCode)
		}
	}
	for _, r := range reqs {
		call(r)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		call(reqs[i%len(reqs)])
		i++
	}
}

// BenchmarkPolicyChange is one policy change on the bench/gen store
// (100,000 grants) in a real SQLite store, as an admin's ExecuteSql runs it:
// validate, audit ahead, commit, compile and publish. Each op grants or
// revokes one table grant of one role. "incremental" is the planner as it
// runs; "full" compiles every version from scratch, as the planner did
// before the incremental compile. B/op is what each change leaves for the
// collector while Authorize runs beside it. See bench/RESULTS.md.
func BenchmarkPolicyChange(b *testing.B) {
	dir := b.TempDir()
	d := gen.Generate(gen.Default())
	ctx := context.Background()
	for _, mode := range []string{"incremental", "full"} {
		b.Run(mode, func(b *testing.B) {
			data := filepath.Join(dir, mode)
			st, err := sqlite.Open(ctx, data, nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := d.Apply(ctx, st); err != nil {
				b.Fatal(err)
			}
			s, err := New(ctx, Config{
				Auth:   authn.Config{AcceptSelfSigned: true, Logger: slog.New(slog.DiscardHandler)},
				Logger: slog.New(slog.DiscardHandler),
			}, st, data)
			if err != nil {
				b.Fatal(err)
			}
			defer s.close()
			s.fullCompile = mode == "full"
			c := &caller{principal: &authn.Principal{User: "root", Groups: []string{"admin"}}, requestID: "bench"}
			stmts := make([][]policysql.Parsed, 2)
			for i, sql := range []string{
				"GRANT SELECT ON TABLE db_01.t_001 TO ROLE role_0500",
				"REVOKE SELECT ON TABLE db_01.t_001 FROM ROLE role_0500",
			} {
				if stmts[i], err = policysql.Parse(sql); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				c.snap = s.snapshot()
				c.subject = c.snap.policy.Subject(toPolicyPrincipal(c.principal))
				if _, _, err := s.execute(ctx, c, stmts[i%2]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "changes/s")
		})
	}
}
