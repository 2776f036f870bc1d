package planner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lakegate/lakegate/gen/lakegate/v1/lakegatev1connect"
	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/authn"
	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/directory"
	"github.com/lakegate/lakegate/internal/fairshare"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/sample"
	"github.com/lakegate/lakegate/internal/session"
	"github.com/lakegate/lakegate/internal/store"
)

// MaxRequestBytes bounds every API request body.
const MaxRequestBytes = 4 << 20

// maxIdentities bounds the distinct principals kept for sharing between
// sessions; an evicted one is simply made again.
const maxIdentities = 1 << 16

// Config is everything the planner needs; Auth keys are sensitive.
type Config struct {
	Listen        string // default 127.0.0.1:12050
	AdminGroup    string // default "admin"
	MaxSessions   int    // default 1048576
	AuditDir      string // default DATA_DIR/audit
	AuditMaxBytes int64  // rotation size, default 64 MiB
	// AuditMaxFiles bounds the rotated audit files kept (0: all);
	// AuditMaxAge deletes rotated files older than it (0: any age).
	AuditMaxFiles int
	AuditMaxAge   time.Duration
	Auth          authn.Config
	Logger        *slog.Logger
	ShutdownWait  time.Duration // default 10s
	MaxObjects    int           // per Authorize, default 10000
	MaxColumns    int           // per object, default 10000
	// FairSlots is how many requests the planner works on at once, shared
	// fairly between users (internal/fairshare); 0: GOMAXPROCS (the work is CPU-bound: more slots only share the CPUs thinner);
	// negative: no gate. MaxQueuedPerUser bounds each user's waiting
	// requests (default 256); more are refused with ResourceExhausted.
	FairSlots        int
	MaxQueuedPerUser int
	// MaxConnections caps open client connections (default 1024); more
	// wait in the listen backlog. ReadTimeout bounds reading one request,
	// headers and body (default 30s).
	MaxConnections int
	ReadTimeout    time.Duration
	// MaxConnectionsPerPeer bounds the connections one peer address holds
	// (0: no bound); more are closed at once.
	MaxConnectionsPerPeer int
	// DirectorySources, if any, add the groups and attributes of the
	// organisation's directory to every principal, resolved with
	// DirectoryOptions (internal/directory).
	DirectorySources []directory.Source
	DirectoryOptions directory.Options
	// AcceptPolicyRollback starts on a store older than the last policy
	// version this planner committed (watermark.go), with a warning.
	AcceptPolicyRollback bool
	// TrustedProxies are the users (token subjects) that may call
	// AuthorizeOnBehalf: the ensemble proxy's service principal.
	TrustedProxies []string
}

func (c *Config) defaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:12050"
	}
	if c.AdminGroup == "" {
		c.AdminGroup = "admin"
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = 1 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ShutdownWait == 0 {
		c.ShutdownWait = 10 * time.Second
	}
	if c.MaxObjects == 0 {
		c.MaxObjects = 10000
	}
	if c.MaxColumns == 0 {
		c.MaxColumns = 10000
	}
	if c.FairSlots == 0 {
		c.FairSlots = runtime.GOMAXPROCS(0)
	}
	if c.MaxQueuedPerUser <= 0 {
		c.MaxQueuedPerUser = 256
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = 1024
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = 30 * time.Second
	}
}

// snapshot is one published policy version: its rows and compiled index.
type snapshot struct {
	state  *catalog.State
	policy *policy.Policy
}

// Server is a running planner.
type Server struct {
	cfg      Config
	log      *slog.Logger
	store    store.Store
	verifier *authn.Verifier
	sessions *session.Table[*sessionEntry]
	// identities are shared by the sessions of one principal.
	identities *session.Table[*identity]
	audit      *audit.Log
	metrics    *metrics

	dir     *directory.Resolver // nil: groups come from tokens only
	current atomic.Pointer[snapshot]
	// ddl serialises policy changes so each is validated against the
	// version it will replace.
	ddl   sync.Mutex
	drift driftReports
	gate  *fairshare.Gate // nil: no gate
	// tokenUsers remembers the user of each verified token (by its hash),
	// for the fair-share key (fair.go).
	tokenUsers     *session.Table[tokenUser]
	throttleWarned atomic.Int64 // UnixNano of the last throttling warning
	ready          atomic.Bool
	wg             sync.WaitGroup
	// fullCompile makes publish compile every version from scratch: the
	// baseline the incremental compile is measured against (benchmarks).
	fullCompile bool
	// watermark is the file holding the last committed policy version
	// (watermark.go); nil until the store was checked against it.
	watermark *watermark
}

// New opens the planner on an already opened store: loads and compiles the
// policy, seeds okera_sample into a new store, and opens the audit log.
func New(ctx context.Context, cfg Config, st store.Store, dataDir string) (*Server, error) {
	cfg.defaults()
	s := &Server{cfg: cfg, log: cfg.Logger, store: st}
	if cfg.FairSlots > 0 {
		s.gate = fairshare.New(cfg.FairSlots, cfg.MaxQueuedPerUser)
	}
	s.tokenUsers = session.New[tokenUser](1 << 16)
	if cfg.Auth.Logger == nil {
		cfg.Auth.Logger = cfg.Logger
	}
	v, err := authn.NewVerifier(ctx, cfg.Auth)
	if err != nil {
		return nil, err
	}
	s.verifier = v
	if cfg.Auth.AcceptSelfSigned {
		s.log.Warn("INSECURE: --insecure-accept-self-signed is on; any client can sign its own token and claim any user. Use it for proofs of concept only, never in front of real data")
	}
	if len(cfg.TrustedProxies) > 0 {
		s.log.Info("trusted proxies may authorize on behalf of other users (AuthorizeOnBehalf)", "principals", cfg.TrustedProxies)
	}
	auditDir := cfg.AuditDir
	if auditDir == "" {
		auditDir = AuditDir(dataDir)
	}
	s.audit, err = audit.Open(auditDir, audit.Options{MaxFileBytes: cfg.AuditMaxBytes, MaxFiles: cfg.AuditMaxFiles, MaxAge: cfg.AuditMaxAge, Logger: cfg.Logger})
	if err != nil {
		v.Close()
		return nil, fmt.Errorf("open audit log in %s: %w", auditDir, err)
	}
	s.sessions = session.New[*sessionEntry](cfg.MaxSessions)
	s.identities = session.New[*identity](min(cfg.MaxSessions, maxIdentities))
	s.metrics = newMetrics(
		func() float64 { return float64(s.sessions.Len()) },
		func() float64 { return float64(s.sessions.Evictions()) },
		func() float64 {
			if cur := s.current.Load(); cur != nil {
				return float64(cur.policy.Version())
			}
			return 0
		},
		func() float64 {
			if s.audit.Failing() != nil {
				return 1
			}
			return 0
		})
	if len(cfg.DirectorySources) > 0 {
		opts := cfg.DirectoryOptions
		opts.Observe = s.metrics.observeDirectory
		if s.dir, err = directory.New(opts, cfg.DirectorySources...); err != nil {
			s.close()
			return nil, err
		}
	}
	if err := s.load(ctx); err != nil {
		s.close()
		return nil, err
	}
	if err := s.checkWatermark(filepath.Join(auditDir, watermarkFile), s.snapshot().state.Version); err != nil {
		s.close()
		return nil, err
	}
	if err := s.seed(ctx); err != nil {
		s.close()
		return nil, err
	}
	s.ready.Store(true)
	return s, nil
}

func (s *Server) load(ctx context.Context) error {
	t0 := time.Now()
	st, err := s.store.Load(ctx)
	if err != nil {
		return fmt.Errorf("load policy from the store: %w", err)
	}
	if err := s.publish(st); err != nil {
		return err
	}
	s.log.Info("policy loaded", "version", st.Version, "roles", len(st.Roles), "grants", st.Grants.Len(),
		"tables", len(st.Tables), "elapsed_ms", time.Since(t0).Milliseconds())
	return nil
}

// publish compiles st and makes it the served version. Callers hold s.ddl
// (or are starting): st derives from the served state, so the compile
// reuses what the change did not touch (policy.Recompile).
func (s *Server) publish(st *catalog.State) error {
	var prev *policy.Policy
	if cur := s.current.Load(); cur != nil && !s.fullCompile {
		prev = cur.policy
	}
	pol, err := policy.Recompile(prev, st, policy.Options{AdminGroup: s.cfg.AdminGroup})
	if err != nil {
		return fmt.Errorf("compile policy version %d: %w (the store holds rows no valid statement makes; restore it from a backup)", st.Version, err)
	}
	s.current.Store(&snapshot{state: st, policy: pol})
	s.markCommitted(st.Version)
	return nil
}

func (s *Server) snapshot() *snapshot { return s.current.Load() }

// seed creates okera_sample in a store that has never held a policy.
func (s *Server) seed(ctx context.Context) error {
	if s.snapshot().state.Version != 0 {
		return nil
	}
	dbs, tables, attrs, colAttrs := sample.Catalog()
	st := s.snapshot().state.Clone()
	version, err := s.store.Apply(ctx, func(tx store.Tx) error {
		for _, a := range attrs {
			if err := tx.CreateAttribute(a); err != nil {
				return err
			}
		}
		for _, d := range dbs {
			if err := tx.CreateDatabase(d); err != nil {
				return err
			}
		}
		for _, t := range tables {
			if err := tx.PutTable(t); err != nil {
				return err
			}
		}
		for _, ca := range colAttrs {
			if err := tx.AddColumnAttribute(ca); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create okera_sample in a new store: %w", err)
	}
	st.Attributes = append(slices.Clip(st.Attributes), attrs...)
	st.Databases = append(slices.Clip(st.Databases), dbs...)
	st.Tables = append(slices.Clip(st.Tables), tables...)
	st.ColumnAttrs = append(slices.Clip(st.ColumnAttrs), colAttrs...)
	st.Version = version
	s.log.Info("created okera_sample in a new store", "version", version)
	return s.publish(st)
}

// Handler is the planner's HTTP handler: the Connect API plus health and
// metrics endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	path, h := lakegatev1connect.NewPlannerServiceHandler(&api{s: s},
		connect.WithReadMaxBytes(MaxRequestBytes),
		connect.WithInterceptors(s.observe()),
		connect.WithRecover(s.recoverPanic),
	)
	mux.Handle(path, s.auditGuard(s.fair(h)))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		if err := s.audit.Failing(); err != nil {
			http.Error(w, "not ready: the audit log cannot be written: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = fmt.Fprintf(w, "ready, policy version %d\n", s.snapshot().policy.Version())
	})
	mux.Handle("/metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
	return tooLarge(http.MaxBytesHandler(mux, MaxRequestBytes+64<<10))
}

// auditGuard refuses every API request at once while the audit log cannot
// be written (a full or read-only disk): the planner decides nothing it
// cannot audit, and says so within a bounded time instead of letting
// requests queue behind a writer that cannot write. It serves again as soon
// as the audit log's writer succeeds (it retries on its own).
func (s *Server) auditGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.audit.Failing(); err != nil {
			_ = connect.NewErrorWriter().Write(w, r, connect.NewError(connect.CodeUnavailable, fmt.Errorf(
				"the planner's audit log cannot be written (%v): no decision is made without its audit record; "+
					"the operator must free space on the audit disk (the planner resumes by itself)", err)))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// tooLarge answers 413 to a request that says up front its body is larger
// than any the API accepts (a body that only turns out too large while it is
// read is cut by MaxBytesHandler and refused by the handler).
func tooLarge(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxRequestBytes {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			_, _ = fmt.Fprintf(w, `{"code":"resource_exhausted","message":"the request body is %d bytes; the planner accepts at most %d"}`+"\n", r.ContentLength, MaxRequestBytes)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) recoverPanic(_ context.Context, spec connect.Spec, _ http.Header, p any) error {
	s.log.Error("panic in request handler", "procedure", spec.Procedure, "panic", fmt.Sprint(p))
	return connect.NewError(connect.CodeInternal, errors.New("internal error; the request was refused (see the planner log)"))
}

// Serve accepts connections on ln until ctx ends, then shuts down
// gracefully: it stops accepting, lets requests in flight finish, flushes
// the audit log and closes the store.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler:           s.Handler(),
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.cfg.ReadTimeout,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	ln = s.limitConnections(ln)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("planner listening", "address", ln.Addr().String(), "policy_version", s.snapshot().policy.Version())
	select {
	case err := <-errc:
		s.close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	s.ready.Store(false)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownWait)
	defer cancel()
	err := srv.Shutdown(sctx)
	s.wg.Wait()
	s.close()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	s.log.Info("stopped")
	return nil
}

// ListenAndServe listens on cfg.Listen and serves until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		s.close()
		return fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	return s.Serve(ctx, ln)
}

func (s *Server) close() {
	if s.watermark != nil {
		_ = s.watermark.f.Close()
	}
	if s.audit != nil {
		if err := s.audit.Close(); err != nil {
			s.log.Error("close audit log", "err", err)
		}
	}
	if s.verifier != nil {
		s.verifier.Close()
	}
	if err := s.store.Close(); err != nil {
		s.log.Error("close store", "err", err)
	}
}
