package cli

import (
	"fmt"
	"log/slog"
	"os/signal"
	"regexp"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lakegate/lakegate/internal/planner"
	"github.com/lakegate/lakegate/internal/store/sqlite"
)

func newServe() *cobra.Command {
	var (
		cfg             planner.Config
		dataDir         string
		clusterSubjects string
		dir             directoryFlags
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the planner: the policy server engines ask at query-planning time",
		Long: `Run the planner on --listen (default 127.0.0.1:12050) with its embedded store
in --data-dir. Every flag can also be set with LAKEGATE_<FLAG> (for example
LAKEGATE_DATA_DIR, LAKEGATE_JWT_PUBLIC_KEY=a.pem,b.pem). SIGTERM or SIGINT
stops it gracefully.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			cfg.Logger = slog.Default()
			if clusterSubjects != "" {
				re, err := regexp.Compile("^(?:" + clusterSubjects + ")$")
				if err != nil {
					return fmt.Errorf("--cluster-key-subjects %q is not a regular expression: %w", clusterSubjects, err)
				}
				cfg.Auth.ClusterKeyLimits.Subjects = re
			}
			if err := dir.apply(ctx, &cfg, cfg.Logger); err != nil {
				return err
			}
			st, err := sqlite.Open(ctx, dataDir, cfg.Logger)
			if err != nil {
				return fmt.Errorf("cannot open the store in %s: %w", dataDir, err)
			}
			srv, err := planner.New(ctx, cfg, st, dataDir)
			if err != nil {
				return err
			}
			return srv.ListenAndServe(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:12050", "address to listen on")
	f.StringVar(&dataDir, "data-dir", "lakegate-data", "directory of the embedded store and the audit log")
	f.StringArrayVar(&cfg.Auth.PublicKeyFiles, "jwt-public-key", nil, "PEM file of a public key that signs tokens (RSA or EC P-256); repeatable")
	f.StringVar(&cfg.Auth.JWKSURL, "jwks-url", "", "URL of a JWKS document with the token signing keys")
	f.StringArrayVar(&cfg.Auth.ClusterKeyFiles, "cluster-signing-key", nil, "PEM file of the public key of a Spark cluster's signing key (signing-key mode); its tokens name a user only: no groups, no admin rights, no acting for others; repeatable")
	f.StringVar(&clusterSubjects, "cluster-key-subjects", "", "regular expression the whole subject of a cluster-signed token must match; empty: any user")
	f.BoolVar(&cfg.Auth.ClusterKeyLimits.Groups, "cluster-key-groups", false, "take the groups and attributes claims of cluster-signed tokens (never the admin group's rights)")
	f.StringVar(&cfg.Auth.Issuer, "jwt-issuer", "", "required token issuer (iss); empty: not checked")
	f.StringVar(&cfg.Auth.Audience, "jwt-audience", "", "required token audience (aud); empty: not checked")
	f.StringVar(&cfg.Auth.GroupsClaim, "groups-claim", "groups", "token claim holding the user's groups")
	f.StringVar(&cfg.AdminGroup, "admin-group", "admin", "group whose members hold ALL ON CATALOG")
	f.BoolVar(&cfg.Auth.AcceptSelfSigned, "insecure-accept-self-signed", false, "accept tokens signed by the key in their own header (proofs of concept only: anyone can claim any user)")
	f.IntVar(&cfg.MaxSessions, "max-sessions", 1<<20, "client sessions kept (least recently used are evicted; an evicted session re-authenticates)")
	f.StringArrayVar(&cfg.TrustedProxies, "trusted-proxy", nil, "user (token subject) of a proxy allowed to ask for URI decisions on behalf of other users: the ensemble's service principal; repeatable")
	f.IntVar(&cfg.FairSlots, "fair-slots", 0, "requests worked on at once, shared fairly between users (a user's flood waits behind itself); 0: the number of CPUs; negative: no sharing")
	f.BoolVar(&cfg.AcceptPolicyRollback, "accept-policy-rollback", false, "start even though the store is older than the last policy version this planner committed (after restoring an older backup on purpose)")
	f.IntVar(&cfg.MaxConnections, "max-connections", 1024, "client connections open at once (never more than the descriptor limit allows); more wait until one closes")
	f.IntVar(&cfg.MaxConnectionsPerPeer, "max-connections-per-peer", 256, "client connections one peer address may hold; more are closed at once, so one host cannot take them all (0: no bound)")
	f.DurationVar(&cfg.ReadTimeout, "read-timeout", 30*time.Second, "time a request's headers and body may take to arrive")
	f.IntVar(&cfg.MaxQueuedPerUser, "max-queued-per-user", 256, "requests one user may have waiting for a slot; more are refused (ResourceExhausted)")
	f.IntVar(&cfg.AuditMaxFiles, "audit-max-files", 100, "rotated audit files kept, oldest deleted first (with --audit-max-bytes this bounds the audit's disk use: 100 × 64 MiB by default); 0 keeps all")
	f.DurationVar(&cfg.AuditMaxAge, "audit-max-age", 0, "delete rotated audit files older than this (e.g. 2160h); 0: any age")
	f.Int64Var(&cfg.AuditMaxBytes, "audit-max-bytes", 64<<20, "size at which the audit log file is rotated")
	dir.register(f)
	return cmd
}
