package ensemble

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/lakegate/lakegate/gen/lakegate/v1/lakegatev1connect"
	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/plannerclient"
	"github.com/lakegate/lakegate/internal/s3keys"
)

// Defaults.
const (
	DefaultListen      = "127.0.0.1:5010"
	DefaultDecisionTTL = 5 * time.Second
	DefaultCacheSize   = 100_000
)

// Config is everything the proxy needs. Keys and credentials are sensitive.
type Config struct {
	Listen string
	// Planner is the planner's HOST[:PORT] or URL.
	Planner        string
	PlannerTimeout time.Duration
	// ServiceToken returns the proxy's own JWT (its subject must be one of
	// the planner's --trusted-proxy names). Called for every planner call,
	// so a token file can be rotated underneath.
	ServiceToken func() (string, error)
	// Upstream is the S3 endpoint URL; UpstreamStyle is auto, path or
	// virtual; UpstreamCredentials sign the forwarded requests.
	Upstream            string
	UpstreamRegion      string
	UpstreamStyle       string
	UpstreamCredentials aws.CredentialsProvider
	// VirtualHostDomains: a request to <bucket>.<domain> is virtual-host style.
	VirtualHostDomains []string
	// DataDir holds the audit log (DataDir/audit); the revocation list is in
	// Keys.
	DataDir       string
	AuditMaxBytes int64
	// AuditMaxFiles and AuditMaxAge bound the rotated audit files kept (0:
	// no bound), as the planner's --audit-max-files and --audit-max-age.
	AuditMaxFiles int
	AuditMaxAge   time.Duration
	Keys          *s3keys.Keys
	// CredentialsTTL is the default lifetime of exchanged access keys.
	CredentialsTTL time.Duration
	// DecisionTTL bounds how long a planner decision is reused (0: never);
	// DecisionCacheSize bounds how many are kept.
	DecisionTTL       time.Duration
	DecisionCacheSize int
	// AcceptSelfSigned issues access keys for identities the planner only
	// verified by a self-signed token (proofs of concept only).
	AcceptSelfSigned bool
	Logger           *slog.Logger
	ShutdownWait     time.Duration
	// Now is the clock (tests); Decider replaces the planner (unit tests).
	Now     func() time.Time
	Decider Decider
}

// Server is a running ensemble proxy.
type Server struct {
	cfg      Config
	log      *slog.Logger
	keys     *s3keys.Keys
	decider  Decider
	planner  lakegatev1connect.PlannerServiceClient
	upstream *upstream
	audit    *audit.Log
	now      func() time.Time
}

type userTokenKey struct{}

// New checks the configuration and opens the audit log.
func New(cfg Config) (*Server, error) {
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PlannerTimeout <= 0 {
		cfg.PlannerTimeout = 10 * time.Second
	}
	if cfg.ShutdownWait == 0 {
		cfg.ShutdownWait = 10 * time.Second
	}
	if cfg.CredentialsTTL <= 0 {
		cfg.CredentialsTTL = s3keys.DefaultTTL
	}
	if cfg.Keys == nil {
		return nil, errors.New("ensemble: no access keys configured")
	}
	if cfg.UpstreamCredentials == nil {
		return nil, errors.New("ensemble: no upstream credentials")
	}
	if cfg.UpstreamRegion == "" {
		cfg.UpstreamRegion = "us-east-1"
	}
	if cfg.Upstream == "" {
		cfg.Upstream = "https://s3." + cfg.UpstreamRegion + ".amazonaws.com"
	}
	for i, d := range cfg.VirtualHostDomains {
		cfg.VirtualHostDomains[i] = strings.ToLower(strings.Trim(strings.TrimSpace(d), "."))
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "ensemble"), keys: cfg.Keys, now: cfg.Now}
	up, err := newUpstream(cfg.Upstream, cfg.UpstreamStyle, cfg.UpstreamRegion, cfg.UpstreamCredentials)
	if err != nil {
		return nil, err
	}
	s.upstream = up
	base, err := plannerclient.BaseURL(cfg.Planner)
	if err != nil {
		return nil, err
	}
	tokens := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			tok, _ := ctx.Value(userTokenKey{}).(string)
			if tok == "" {
				if cfg.ServiceToken == nil {
					return nil, errors.New("the ensemble has no service token (--token or --token-file)")
				}
				t, err := cfg.ServiceToken()
				if err != nil {
					return nil, err
				}
				tok = t
			}
			req.Header().Set("Authorization", "Bearer "+tok)
			return next(ctx, req)
		}
	})
	s.planner = lakegatev1connect.NewPlannerServiceClient(&http.Client{Timeout: cfg.PlannerTimeout}, base, connect.WithInterceptors(tokens))
	s.decider = cfg.Decider
	if s.decider == nil {
		if cfg.ServiceToken == nil {
			return nil, errors.New("ensemble: the planner must be asked with a service token: pass --token (OKERA_TOKEN) or --token-file")
		}
		size := cfg.DecisionCacheSize
		if size <= 0 {
			size = DefaultCacheSize
		}
		s.decider = newPlannerDecider(s.planner, cfg.DecisionTTL, size, cfg.Now)
	}
	dir := filepath.Join(cfg.DataDir, "audit")
	if s.audit, err = audit.Open(dir, audit.Options{MaxFileBytes: cfg.AuditMaxBytes, MaxFiles: cfg.AuditMaxFiles, MaxAge: cfg.AuditMaxAge, Logger: cfg.Logger}); err != nil {
		return nil, fmt.Errorf("open the audit log in %s: %w", dir, err)
	}
	return s, nil
}

// AuditDir is where the proxy's audit log is.
func (s *Server) AuditDir() string { return s.audit.Dir() }

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

// Serve accepts connections on ln until ctx ends, then shuts down
// gracefully and flushes the audit log.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler:           s,
		Protocols:         &protocols,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("ensemble listening", "address", ln.Addr().String(), "upstream", s.cfg.Upstream,
		"upstream_path_style", s.upstream.pathStyle, "virtual_host_domains", s.cfg.VirtualHostDomains)
	select {
	case err := <-errc:
		s.closeAudit()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownWait)
	defer cancel()
	err := srv.Shutdown(sctx)
	s.closeUpstream()
	s.closeAudit()
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
		s.closeAudit()
		return fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	return s.Serve(ctx, ln)
}

func (s *Server) closeAudit() {
	if err := s.audit.Close(); err != nil {
		s.log.Error("close audit log", "err", err)
	}
}

// closeUpstream closes the idle connections of the splice path.
func (s *Server) closeUpstream() {
	if s.upstream.raw != nil {
		s.upstream.raw.closeIdle()
	}
}

// Close releases the audit log and idle upstream connections of a Server
// that was never served.
func (s *Server) Close() error {
	s.closeUpstream()
	return s.audit.Close()
}
