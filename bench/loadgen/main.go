// Command loadgen benchmarks the real planner binary over loopback HTTP.
//
//	go run ./bench/loadgen -bin bin/lakegate
//
// It writes the bench/gen policy (100,000 grants) into an embedded store
// through internal/store/sqlite and store.Store.Apply, times Load and
// Compile in process, then starts `lakegate serve` on that data directory
// on a free loopback port several times, measuring the time from process
// start until /readyz answers 200 (cold start). Against the last one it runs
// Connect JSON POSTs of Authorize as the Spark extension sends them (every
// column of every relation, a session id per client so authentication is
// cached): sequential latency of the standard query and of the 1,000-column
// table, then decisions per second with 8, 32 and 64 concurrent clients
// over keep-alive connections. Client and server share the machine's cores.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lakegate/lakegate/bench/gen"
	"github.com/lakegate/lakegate/bench/stats"
	"github.com/lakegate/lakegate/internal/authn"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/store/sqlite"
)

func main() {
	var cfg config
	flag.StringVar(&cfg.bin, "bin", "bin/lakegate", "the lakegate binary to run")
	flag.StringVar(&cfg.dir, "dir", "", "work directory (data dir, keys, server log); default a new temporary one, removed at the end")
	flag.IntVar(&cfg.coldRuns, "cold-runs", 5, "cold starts to time")
	flag.IntVar(&cfg.seqRequests, "requests", 3000, "sequential requests for the latency of the standard query")
	flag.IntVar(&cfg.wideRequests, "wide-requests", 500, "sequential requests on the 1,000-column table")
	flag.DurationVar(&cfg.phase, "duration", 5*time.Second, "length of each concurrency phase")
	flag.StringVar(&cfg.clients, "concurrency", "8,32,64", "concurrent clients per throughput phase")
	flag.IntVar(&cfg.flood, "flood", 32, "concurrent 1,000-column requests of the flooding user in the noisy-neighbour phase (0: skip it)")
	flag.StringVar(&cfg.noisySlots, "noisy-slots", "0,-1,0", "the planner's --fair-slots in each noisy-neighbour run (0: its default; -1: no sharing)")
	flag.Float64Var(&cfg.changeRate, "change-rate", 50, "policy changes per second an admin makes during the Authorize phase of the policy-change test (0: skip it)")
	flag.IntVar(&cfg.changeClients, "change-clients", 8, "concurrent Authorize clients in the policy-change test")
	flag.Parse()
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type config struct {
	bin, dir                  string
	coldRuns                  int
	seqRequests, wideRequests int
	phase                     time.Duration
	changeRate                float64
	changeClients             int
	clients                   string
	flood                     int
	noisySlots                string
}

const maxClients = 64

func run(cfg config) error {
	ctx := context.Background()
	if _, err := os.Stat(cfg.bin); err != nil {
		return fmt.Errorf("%w (build it with make build)", err)
	}
	bin, _ := filepath.Abs(cfg.bin)
	if cfg.dir == "" {
		d, err := os.MkdirTemp("", "lakegate-loadgen-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		cfg.dir = d
	}
	dataDir := filepath.Join(cfg.dir, "data")
	fmt.Printf("lakegate planner over loopback HTTP — %s, %d CPUs, client GOMAXPROCS=%d\n\n", runtime.Version(), runtime.NumCPU(), runtime.GOMAXPROCS(0))

	// The store.
	d := gen.Generate(gen.Default())
	t0 := time.Now()
	st, err := sqlite.Open(ctx, dataDir, nil)
	if err != nil {
		return err
	}
	version, err := d.Apply(ctx, st)
	if err != nil {
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	fmt.Printf("store: %d grants, %d roles, %d tables, %d memberships, %d column attributes written through store.Apply in %s (policy version %d)\n",
		d.State.Grants.Len(), len(d.State.Roles), len(d.State.Tables), len(d.State.Memberships), len(d.State.ColumnAttrs),
		stats.D(time.Since(t0)), version)

	// In-process split of the planner's start: open, Load, Compile.
	var opens, loads, compiles []time.Duration
	for range 3 {
		runtime.GC()
		t0 := time.Now()
		st, err := sqlite.Open(ctx, dataDir, nil)
		if err != nil {
			return err
		}
		t1 := time.Now()
		state, err := st.Load(ctx)
		if err != nil {
			return err
		}
		t2 := time.Now()
		if _, err := policy.Compile(state, policy.Options{}); err != nil {
			return err
		}
		t3 := time.Now()
		_ = st.Close()
		opens, loads, compiles = append(opens, t1.Sub(t0)), append(loads, t2.Sub(t1)), append(compiles, t3.Sub(t2))
		if state.Grants.Len() != d.State.Grants.Len() {
			return fmt.Errorf("store loaded %d grants, want %d", state.Grants.Len(), d.State.Grants.Len())
		}
	}
	fmt.Printf("in process (median of 3): sqlite.Open %s, Store.Load %s, policy.Compile %s\n\n",
		stats.D(stats.Of(opens).P50), stats.D(stats.Of(loads).P50), stats.D(stats.Of(compiles).P50))

	// Keys and tokens.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	pub := filepath.Join(cfg.dir, "jwt-public.pem")
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		return err
	}

	// Cold starts.
	var colds []time.Duration
	var srv *server
	for i := range cfg.coldRuns {
		s, err := start(bin, dataDir, pub, filepath.Join(cfg.dir, fmt.Sprintf("serve-%d.log", i)))
		if err != nil {
			return err
		}
		colds = append(colds, s.ready)
		if i < cfg.coldRuns-1 {
			if err := s.stop(); err != nil {
				return err
			}
		} else {
			srv = s
		}
	}
	defer func() { _ = srv.stop() }() // the server running at the end (the noisy-neighbour phase restarts it)
	cs := stats.Of(slices.Clone(colds))
	fmt.Printf("cold start (process start → /readyz 200, %d runs): median %s, max %s; the server logged policy load+compile of %s ms (last run); target ≤ 1 s: %s\n",
		len(colds), stats.D(cs.P50), stats.D(cs.Max), srv.loadedMS, stats.Met(cs.Max <= time.Second))
	fmt.Printf("  runs: %s\n\n", joinD(colds))

	// Requests: one session and user per client.
	rng := mrand.New(mrand.NewPCG(7, 11))
	type client struct {
		auth        string
		std, wide   []byte
		stdObjects  int
		wideColumns int
	}
	clients := make([]*client, maxClients)
	for i := range clients {
		u := d.Users[i*37%len(d.Users)]
		tok, err := authn.SignToken(key, authn.TokenSpec{User: u.Name, Groups: u.Groups, Attributes: u.Attributes, TTL: time.Hour}, time.Now())
		if err != nil {
			return err
		}
		sid := fmt.Sprintf("loadgen-%02d-%d", i, time.Now().UnixNano())
		objs := d.Request(rng, u, false)
		clients[i] = &client{
			auth:        "Bearer " + tok,
			std:         body(sid, objs),
			stdObjects:  len(objs),
			wide:        body(sid, []policy.Object{d.Object(gen.SalesDB, gen.HugeTable)}),
			wideColumns: 1000,
		}
	}
	hc := &http.Client{Transport: &http.Transport{
		MaxIdleConns: 2 * maxClients, MaxIdleConnsPerHost: 2 * maxClients, DisableCompression: true, IdleConnTimeout: time.Minute,
	}, Timeout: 30 * time.Second}
	url := "http://" + srv.addr + "/lakegate.v1.PlannerService/Authorize"
	postTo := func(url string, c *client, b []byte) (time.Duration, []byte, error) {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", c.auth)
		t := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		el := time.Since(t)
		if err != nil {
			return 0, nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, out)
		}
		return el, out, nil
	}
	post := func(c *client, b []byte) (time.Duration, []byte, error) { return postTo(url, c, b) }

	// Warm up: authenticate every session, check the answers once.
	for i, c := range clients {
		_, out, err := post(c, c.std)
		if err != nil {
			return err
		}
		if err := check(out, c.stdObjects, 20); err != nil {
			return fmt.Errorf("client %d, standard request: %w", i, err)
		}
		_, out, err = post(c, c.wide)
		if err != nil {
			return err
		}
		if err := check(out, 1, 300); err != nil {
			return fmt.Errorf("client %d, wide request: %w", i, err)
		}
	}
	stdBytes, wideBytes := len(clients[0].std), len(clients[0].wide)
	_, stdResp, _ := post(clients[0], clients[0].std)
	_, wideResp, _ := post(clients[0], clients[0].wide)

	// Sequential latency.
	seq := func(n int, wide bool) (stats.Summary, error) {
		lat := make([]time.Duration, 0, n)
		for i := range n {
			c := clients[i%len(clients)]
			b := c.std
			if wide {
				b = c.wide
			}
			el, _, err := post(c, b)
			if err != nil {
				return stats.Summary{}, err
			}
			lat = append(lat, el)
		}
		return stats.Of(lat), nil
	}
	fmt.Printf("sequential, one client, keep-alive, authentication cached by session id:\n")
	fmt.Printf("  %-58s %9s %9s %9s %9s %9s\n", "request", "p50", "p90", "p99", "mean", "max")
	s1, err := seq(cfg.seqRequests, false)
	if err != nil {
		return err
	}
	fmt.Printf("  %-58s %9s %9s %9s %9s %9s   target p99 ≤ 1 ms: %s\n",
		fmt.Sprintf("standard query (%d B request, %d B response) ×%d", stdBytes, len(stdResp), s1.N),
		stats.D(s1.P50), stats.D(s1.P90), stats.D(s1.P99), stats.D(s1.Mean), stats.D(s1.Max), stats.Met(s1.P99 <= time.Millisecond))
	s2, err := seq(cfg.wideRequests, true)
	if err != nil {
		return err
	}
	fmt.Printf("  %-58s %9s %9s %9s %9s %9s   target p99 ≤ 5 ms: %s\n",
		fmt.Sprintf("1,000 columns (%d B request, %d B response) ×%d", wideBytes, len(wideResp), s2.N),
		stats.D(s2.P50), stats.D(s2.P90), stats.D(s2.P99), stats.D(s2.Mean), stats.D(s2.Max), stats.Met(s2.P99 <= 5*time.Millisecond))

	// authorizeLoad runs n clients sending the standard query for one phase.
	type loadResult struct {
		elapsed       time.Duration
		lat           []time.Duration
		objects, errs atomic.Int64
		lastErr       atomic.Value
	}
	authorizeLoad := func(n int) *loadResult {
		r := &loadResult{}
		var (
			wg sync.WaitGroup
			mu sync.Mutex
		)
		startT := time.Now()
		deadline := startT.Add(cfg.phase)
		for i := range n {
			wg.Add(1)
			go func(c *client) {
				defer wg.Done()
				var mine []time.Duration
				for time.Now().Before(deadline) {
					el, _, err := post(c, c.std)
					if err != nil {
						r.errs.Add(1)
						r.lastErr.Store(err.Error())
						continue
					}
					mine = append(mine, el)
					r.objects.Add(int64(c.stdObjects))
				}
				mu.Lock()
				r.lat = append(r.lat, mine...)
				mu.Unlock()
			}(clients[i])
		}
		wg.Wait()
		r.elapsed = time.Since(startT)
		return r
	}

	// Throughput.
	fmt.Printf("\nthroughput, standard query, each client its own session and user, %s per phase:\n", cfg.phase)
	fmt.Printf("  %-8s %12s %14s %9s %9s %16s %8s\n", "clients", "requests/s", "objects/s", "p50", "p99", "server CPU/req", "errors")
	for _, f := range strings.Split(cfg.clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > maxClients {
			return fmt.Errorf("-concurrency: %q is not a number from 1 to %d", f, maxClients)
		}
		cpu0 := srv.cpu()
		r := authorizeLoad(n)
		cpu := srv.cpu() - cpu0
		s := stats.Of(r.lat)
		rps, ops := float64(s.N)/r.elapsed.Seconds(), float64(r.objects.Load())/r.elapsed.Seconds()
		fmt.Printf("  %-8d %12.0f %14.0f %9s %9s %16s %8d   target ≥ 20,000 decisions/s: requests %s, objects %s\n",
			n, rps, ops, stats.D(s.P50), stats.D(s.P99),
			stats.D(time.Duration(float64(cpu)/float64(max(1, s.N)))), r.errs.Load(),
			stats.Met(rps >= 20000), stats.Met(ops >= 20000))
		if e := r.lastErr.Load(); e != nil {
			fmt.Printf("  last error: %v\n", e)
		}
	}
	fmt.Printf("\nserver after the run: RSS %s, tables recorded from read requests: %d (reads never write: must be 0)\n", srv.rss(), srv.learned())

	// Policy changes: an admin grants and revokes one table grant over
	// ExecuteSql, first as fast as one client can, then at -change-rate while
	// -change-clients clients authorize, against the same clients without
	// changes.
	if cfg.changeRate > 0 {
		if cfg.changeClients < 1 || cfg.changeClients > maxClients {
			return fmt.Errorf("-change-clients: %d is not a number from 1 to %d", cfg.changeClients, maxClients)
		}
		tok, err := authn.SignToken(key, authn.TokenSpec{User: "admin@example.com", Groups: []string{"admin"}, TTL: time.Hour}, time.Now())
		if err != nil {
			return err
		}
		admin := &client{auth: "Bearer " + tok}
		execURL := "http://" + srv.addr + "/lakegate.v1.PlannerService/ExecuteSql"
		change := func(i int) (time.Duration, error) {
			sql := "GRANT SELECT ON TABLE db_01.t_001 TO ROLE role_0500"
			if i%2 == 1 {
				sql = "REVOKE SELECT ON TABLE db_01.t_001 FROM ROLE role_0500"
			}
			b, _ := json.Marshal(map[string]string{"sql": sql, "sessionId": "loadgen-admin"})
			el, _, err := postTo(execURL, admin, b)
			return el, err
		}
		var lat []time.Duration
		deadline := time.Now().Add(cfg.phase)
		cpu0 := srv.cpu()
		t0 := time.Now()
		for i := 0; time.Now().Before(deadline); i++ {
			el, err := change(i)
			if err != nil {
				return fmt.Errorf("policy change %d: %w", i, err)
			}
			lat = append(lat, el)
		}
		cs := stats.Of(lat)
		rate := float64(cs.N) / time.Since(t0).Seconds()
		cpuPer := time.Duration(float64(srv.cpu()-cpu0) / float64(max(1, cs.N)))
		fmt.Printf("\npolicy changes, one admin client, GRANT/REVOKE of one table grant on the %d-grant store, %s:\n", d.State.Grants.Len(), cfg.phase)
		fmt.Printf("  %.0f changes/s, p50 %s, p99 %s, max %s, server CPU %s per change   target ≥ 50 changes/s: %s\n",
			rate, stats.D(cs.P50), stats.D(cs.P99), stats.D(cs.Max), stats.D(cpuPer), stats.Met(rate >= 50))

		// Alternate phases without and with changes, so that the machine's
		// drift (other load on a shared host) falls on both alike.
		const rounds = 3
		var (
			quietLat, busyLat   []time.Duration
			quietTime, busyTime time.Duration
			errs, changes       int64
		)
		for range rounds {
			quiet := authorizeLoad(cfg.changeClients)
			var (
				made atomic.Int64
				stop = make(chan struct{})
				done = make(chan error, 1)
			)
			go func() {
				tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.changeRate))
				defer tick.Stop()
				for i := 0; ; i++ {
					select {
					case <-stop:
						done <- nil
						return
					case <-tick.C:
					}
					if _, err := change(i); err != nil {
						done <- err
						return
					}
					made.Add(1)
				}
			}()
			busy := authorizeLoad(cfg.changeClients)
			close(stop)
			if err := <-done; err != nil {
				return fmt.Errorf("policy change during the Authorize load: %w", err)
			}
			quietLat, busyLat = append(quietLat, quiet.lat...), append(busyLat, busy.lat...)
			quietTime, busyTime = quietTime+quiet.elapsed, busyTime+busy.elapsed
			errs += quiet.errs.Load() + busy.errs.Load()
			changes += made.Load()
		}
		q, bz := stats.Of(quietLat), stats.Of(busyLat)
		qr, br := float64(q.N)/quietTime.Seconds(), float64(bz.N)/busyTime.Seconds()
		fmt.Printf("  Authorize, %d clients, %d × %s alternately: without changes %.0f req/s (p99 %s); with %.0f changes/s %.0f req/s (p99 %s), ratio %.3f, errors %d   target ratio ≥ 0.90: %s\n",
			cfg.changeClients, rounds, cfg.phase, qr, stats.D(q.P99), float64(changes)/busyTime.Seconds(), br, stats.D(bz.P99),
			br/qr, errs, stats.Met(br/qr >= 0.90))
		fmt.Printf("  server after the changes: RSS %s\n", srv.rss())
	}

	// Noisy neighbour: one user floods with wide requests while another sends
	// the standard query one at a time; the polite user's latency with the
	// planner's fair sharing (the default) and without it (--fair-slots=-1),
	// in the same run, each against a freshly started planner.
	if cfg.flood > 0 {
		fmt.Printf("\nnoisy neighbour: user %s sends %d concurrent 1,000-column requests for %s while user %s sends the standard query sequentially:\n",
			"A", cfg.flood, cfg.phase, "B")
		fmt.Printf("  %-34s %9s %9s %9s %12s %12s\n", "planner", "B p50", "B p99", "B max", "B requests", "A requests/s")
		type noisyMode struct {
			name  string
			extra []string
		}
		var modes []noisyMode
		for _, f := range strings.Split(cfg.noisySlots, ",") {
			switch n := strings.TrimSpace(f); n {
			case "0":
				modes = append(modes, noisyMode{"fair sharing (default slots)", nil})
			case "-1":
				modes = append(modes, noisyMode{"no sharing (--fair-slots=-1)", []string{"--fair-slots=-1"}})
			default:
				modes = append(modes, noisyMode{"fair sharing, --fair-slots=" + n, []string{"--fair-slots=" + n}})
			}
		}
		for _, mode := range modes {
			if err := srv.stop(); err != nil {
				return err
			}
			srv, err = start(bin, dataDir, pub, filepath.Join(cfg.dir, "serve-noisy.log"), mode.extra...)
			if err != nil {
				return err
			}
			url = "http://" + srv.addr + "/lakegate.v1.PlannerService/Authorize" // post sends here
			flooder, polite := clients[0], clients[1]
			for _, c := range []*client{flooder, polite} { // authenticate the sessions
				if _, _, err := post(c, c.std); err != nil {
					return err
				}
			}
			var (
				wg      sync.WaitGroup
				floods  atomic.Int64
				lastErr atomic.Value
			)
			deadline := time.Now().Add(cfg.phase)
			for range cfg.flood {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for time.Now().Before(deadline) {
						if _, _, err := post(flooder, flooder.wide); err != nil {
							lastErr.Store(err.Error())
							continue
						}
						floods.Add(1)
					}
				}()
			}
			var lat []time.Duration
			for time.Now().Before(deadline) {
				el, _, err := post(polite, polite.std)
				if err != nil {
					return fmt.Errorf("the polite user's request failed: %w", err)
				}
				lat = append(lat, el)
			}
			wg.Wait()
			ps := stats.Of(lat)
			fmt.Printf("  %-34s %9s %9s %9s %12d %12.0f\n", mode.name, stats.D(ps.P50), stats.D(ps.P99), stats.D(ps.Max), ps.N,
				float64(floods.Load())/cfg.phase.Seconds())
			if e := lastErr.Load(); e != nil {
				fmt.Printf("  the flooder's last error: %.200v\n", e)
			}
		}
	}
	return nil
}

func joinD(ds []time.Duration) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, stats.D(d))
	}
	return strings.Join(parts, ", ")
}

// body is the Connect JSON of an Authorize request.
func body(sessionID string, objs []policy.Object) []byte {
	type column struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	type object struct {
		Database string   `json:"database"`
		Table    string   `json:"table"`
		Columns  []column `json:"columns"`
	}
	req := struct {
		SessionID string   `json:"sessionId"`
		Client    string   `json:"client"`
		Action    string   `json:"action"`
		Objects   []object `json:"objects"`
		Statement string   `json:"statement"`
	}{SessionID: sessionID, Client: "spark", Action: "ACTION_SELECT", Statement: "SELECT * FROM sales.customers c JOIN …"}
	for _, o := range objs {
		ob := object{Database: o.Database, Table: o.Table}
		for _, c := range o.Columns {
			ob.Columns = append(ob.Columns, column{Name: c.Name, Type: c.Type})
		}
		req.Objects = append(req.Objects, ob)
	}
	b, err := json.Marshal(req)
	if err != nil {
		panic(err)
	}
	return b
}

// check verifies a response: n decisions, the first allowed with masked
// columns masked.
func check(out []byte, n, masked int) error {
	var resp struct {
		Decisions []struct {
			Allowed   bool   `json:"allowed"`
			Reason    string `json:"reason"`
			RowFilter string `json:"rowFilter"`
			Columns   []struct {
				Action string `json:"action"`
			} `json:"columns"`
		} `json:"decisions"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return err
	}
	if len(resp.Decisions) != n {
		return fmt.Errorf("%d decisions, want %d", len(resp.Decisions), n)
	}
	d := resp.Decisions[0]
	if !d.Allowed {
		return fmt.Errorf("denied: %s", d.Reason)
	}
	m := 0
	for _, c := range d.Columns {
		if c.Action == "COLUMN_ACTION_MASKED" {
			m++
		}
	}
	if m != masked {
		return fmt.Errorf("%d masked columns, want %d", m, masked)
	}
	return nil
}

// server is a running `lakegate serve`.
type server struct {
	cmd      *exec.Cmd
	addr     string
	ready    time.Duration
	log      string
	loadedMS string
	done     chan error
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// start runs the binary and returns once /readyz answers 200, with the
// time from just before the process was started.
func start(bin, dataDir, pub, logPath string, extra ...string) (*server, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, append([]string{"serve", "--data-dir", dataDir, "--listen", addr, "--jwt-public-key", pub, "--log-level", "info"}, extra...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	s := &server{cmd: cmd, addr: addr, log: logPath, done: make(chan error, 1)}
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() { s.done <- cmd.Wait(); logf.Close() }()
	for {
		select {
		case err := <-s.done:
			out, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("lakegate serve exited (%v) before it was ready:\n%s", err, out)
		default:
		}
		if time.Since(t0) > 60*time.Second {
			_ = cmd.Process.Kill()
			return nil, errors.New("lakegate serve was not ready after 60 s")
		}
		resp, err := hc.Get("http://" + addr + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s.ready = time.Since(t0)
				break
			}
		}
		time.Sleep(time.Millisecond)
	}
	s.loadedMS = s.logValue("policy loaded", "elapsed_ms")
	return s, nil
}

// logValue finds key=value on the first log line containing msg.
func (s *server) logValue(msg, key string) string {
	f, err := os.Open(s.log)
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, msg) {
			continue
		}
		for _, field := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(field, key+"="); ok {
				return v
			}
		}
	}
	return "?"
}

func (s *server) learned() int {
	out, _ := os.ReadFile(s.log)
	return strings.Count(string(out), "recorded table")
}

// cpu is the server process's user+system CPU time so far.
func (s *server) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

func (s *server) rss() string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// stop sends SIGTERM and waits for the process to exit.
func (s *server) stop() error {
	if s == nil || s.cmd.Process == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return nil
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		return errors.New("lakegate serve did not stop within 30 s of SIGTERM; killed")
	}
}
