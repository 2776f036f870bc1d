package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"

	"github.com/lakegate/lakegate/internal/ensemble"
	"github.com/lakegate/lakegate/internal/s3keys"
)

// MasterKeyEnv holds master keys as hex (comma-separated) for the ensemble,
// as an alternative to --master-key-file. It is read only from the
// environment: key material never goes on a command line.
const MasterKeyEnv = "LAKEGATE_MASTER_KEY"

func newEnsemble() *cobra.Command {
	var (
		cfg          ensemble.Config
		tokenFlag    string
		tokenFile    string
		masterFiles  []string
		maxTTL       time.Duration
		upstreamWait time.Duration
		gcPercent    int
	)
	cmd := &cobra.Command{
		Use:   "ensemble",
		Short: "Run the ensemble: an S3 proxy that enforces URI grants on file access",
		Long: `Run the ensemble S3 proxy on --listen (default 127.0.0.1:5010). Clients sign S3
requests with per-user access keys ('lakegate ensemble credentials'); the proxy
verifies them, asks the planner (--planner) for the URI decision on behalf of the
user, and re-signs allowed requests to --upstream with the AWS credentials of its
environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance
role, …). The planner must name the proxy's service user with --trusted-proxy;
the proxy authenticates to it with --token or --token-file. Access key secrets
derive from the master key (--master-key-file or LAKEGATE_MASTER_KEY; make one
with 'lakegate ensemble keygen'). See docs/ensemble.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			log := slog.Default()
			cfg.Logger = log
			if gcPercent < 50 {
				return fmt.Errorf("--gc-percent %d: give 50 or more (100 is Go's default)", gcPercent)
			}
			// Each request allocates a little (verification, signing); with Go's default the
			// collector runs every few dozen requests and shows in the latency tail. Memory is
			// per connection, not per byte, so a larger target costs a few MiB.
			if os.Getenv("GOGC") == "" || cmd.Flags().Changed("gc-percent") {
				debug.SetGCPercent(gcPercent)
			}
			masters, err := s3keys.LoadMasterKeys(masterFiles, os.Getenv(MasterKeyEnv))
			if err != nil {
				return err
			}
			rev, err := s3keys.OpenRevocations(cfg.DataDir, maxTTL, log)
			if err != nil {
				return err
			}
			if cfg.Keys, err = s3keys.New(masters, rev, maxTTL); err != nil {
				return err
			}
			switch {
			case tokenFlag != "" && tokenFile != "":
				return errors.New("give the service token with --token or --token-file, not both")
			case tokenFile != "":
				cfg.ServiceToken = fileToken(tokenFile)
				if _, err := cfg.ServiceToken(); err != nil {
					return err
				}
			case tokenFlag != "":
				cfg.ServiceToken = func() (string, error) { return tokenFlag, nil }
			default:
				return errors.New("no service token: the ensemble asks the planner with its own JWT; pass --token (or OKERA_TOKEN) or --token-file, and name its user in the planner's --trusted-proxy")
			}
			if cfg.UpstreamCredentials, cfg.UpstreamRegion, err = upstreamCredentials(ctx, cfg.UpstreamRegion, upstreamWait); err != nil {
				return err
			}
			srv, err := ensemble.New(cfg)
			if err != nil {
				return err
			}
			return srv.ListenAndServe(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", ensemble.DefaultListen, "address to listen on")
	f.StringVar(&cfg.Planner, "planner", "127.0.0.1:12050", "planner HOST:PORT (env OKERA_PLANNER)")
	f.StringVar(&tokenFlag, "token", "", "the proxy's own JWT for the planner; its user must be a --trusted-proxy of the planner (env OKERA_TOKEN)")
	f.StringVar(&tokenFile, "token-file", "", "file holding the proxy's JWT, re-read when it changes (rotated tokens)")
	f.DurationVar(&cfg.PlannerTimeout, "timeout", 10*time.Second, "timeout of one planner call")
	f.StringVar(&cfg.Upstream, "upstream", "", "S3 endpoint URL to forward to (default https://s3.REGION.amazonaws.com); any S3-compatible endpoint")
	f.StringVar(&cfg.UpstreamRegion, "upstream-region", "", "region to sign upstream requests for (default: the AWS configuration's region, else us-east-1)")
	f.StringVar(&cfg.UpstreamStyle, "upstream-style", "auto", "upstream addressing: path, virtual, or auto (virtual for *.amazonaws.com, else path)")
	f.DurationVar(&upstreamWait, "upstream-credentials-timeout", 15*time.Second, "how long to wait at start for the AWS credential chain")
	f.StringSliceVar(&cfg.VirtualHostDomains, "virtual-host", nil, "domain(s) of virtual-host-style requests: BUCKET.DOMAIN is a bucket (path style always works)")
	f.StringVar(&cfg.DataDir, "data-dir", "lakegate-ensemble", "directory of the audit log and the access key revocation list")
	f.StringArrayVar(&masterFiles, "master-key-file", nil, "file with a master key (64 hex digits, mode 0600); the first signs new keys, all verify; repeatable (or env "+MasterKeyEnv+")")
	f.DurationVar(&cfg.CredentialsTTL, "credentials-ttl", s3keys.DefaultTTL, "default lifetime of an access key")
	f.DurationVar(&maxTTL, "credentials-max-ttl", s3keys.MaxTTL, "longest lifetime of an access key")
	f.DurationVar(&cfg.DecisionTTL, "decision-cache-ttl", ensemble.DefaultDecisionTTL, "how long a planner decision is reused (and never across a policy change the proxy has seen); 0 disables the cache")
	f.IntVar(&cfg.DecisionCacheSize, "decision-cache-size", ensemble.DefaultCacheSize, "decisions kept")
	f.BoolVar(&cfg.AcceptSelfSigned, "insecure-accept-self-signed", false, "issue access keys to users whose token the planner verified only as self-signed (proofs of concept only)")
	f.Int64Var(&cfg.AuditMaxBytes, "audit-max-bytes", 64<<20, "size at which the audit log file is rotated")
	f.IntVar(&cfg.AuditMaxFiles, "audit-max-files", 100, "rotated audit files kept, oldest deleted first (100 × 64 MiB by default); 0 keeps all")
	f.DurationVar(&cfg.AuditMaxAge, "audit-max-age", 0, "delete rotated audit files older than this (e.g. 2160h); 0: any age")
	f.IntVar(&gcPercent, "gc-percent", 400, "Go garbage collector target (GOGC), fewer collections in the latency tail; GOGC in the environment wins unless this is given")
	cmd.AddCommand(newEnsembleCredentials(), newEnsembleRevoke(), newEnsembleKeygen())
	return cmd
}

// fileToken reads a token file, again whenever it changes.
func fileToken(path string) func() (string, error) {
	var (
		mu   sync.Mutex
		tok  string
		when time.Time
	)
	return func() (string, error) {
		mu.Lock()
		defer mu.Unlock()
		fi, err := os.Stat(path)
		if err != nil {
			return "", fmt.Errorf("service token file: %w", err)
		}
		if tok != "" && fi.ModTime().Equal(when) {
			return tok, nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("service token file: %w", err)
		}
		t := strings.TrimSpace(string(b))
		if t == "" {
			return "", fmt.Errorf("service token file %s is empty", path)
		}
		tok, when = t, fi.ModTime()
		return tok, nil
	}
}

// upstreamCredentials loads the AWS credential chain and checks that it
// yields credentials now, so a misconfigured proxy does not start.
func upstreamCredentials(ctx context.Context, region string, wait time.Duration) (aws.CredentialsProvider, string, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var opts []func(*awsconfig.LoadOptions) error
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	ac, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, "", fmt.Errorf("load the AWS configuration for the upstream: %w", err)
	}
	if ac.Credentials == nil {
		return nil, "", errors.New("no upstream credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run with an instance role")
	}
	if _, err := ac.Credentials.Retrieve(ctx); err != nil {
		return nil, "", fmt.Errorf("no upstream credentials from the AWS credential chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, instance role): %w", err)
	}
	if ac.Region == "" {
		ac.Region = "us-east-1"
	}
	return ac.Credentials, ac.Region, nil
}

// ensembleClient are the flags of commands that talk to the proxy.
type ensembleClient struct {
	url     string
	token   string
	timeout time.Duration
}

func (c *ensembleClient) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.url, "ensemble", "http://127.0.0.1:5010", "URL of the ensemble proxy (env LAKEGATE_ENSEMBLE)")
	f.StringVar(&c.token, "token", "", "your JWT (env OKERA_TOKEN)")
	f.DurationVar(&c.timeout, "timeout", 30*time.Second, "request timeout")
}

func (c *ensembleClient) post(path string, query string, body any, out any) error {
	if c.token == "" {
		return errors.New("no token: pass --token JWT or set OKERA_TOKEN (make one with 'lakegate token')")
	}
	u := strings.TrimSuffix(c.url, "/") + path
	if query != "" {
		u += "?" + query
	}
	var rd io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(http.MethodPost, u, rd)
	if err != nil {
		return fmt.Errorf("--ensemble %q: %w", c.url, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: c.timeout}).Do(req)
	if err != nil {
		return fmt.Errorf("the ensemble at %s could not be reached: %w", c.url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var je struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &je) == nil && je.Error != "" {
			return fmt.Errorf("the ensemble refused (%d): %s", resp.StatusCode, je.Error)
		}
		return fmt.Errorf("the ensemble answered %s", resp.Status)
	}
	return json.Unmarshal(b, out)
}

func newEnsembleCredentials() *cobra.Command {
	var (
		c      ensembleClient
		ttl    time.Duration
		output string
	)
	cmd := &cobra.Command{
		Use:   "credentials",
		Short: "Exchange your JWT for an S3 access key of the ensemble proxy",
		Long: `Exchange a JWT (--token or OKERA_TOKEN) for a short-lived S3 access key id and
secret bound to the token's user. --output json prints the AWS CLI's
credential_process format, so ~/.aws/config can say:
  credential_process = lakegate ensemble credentials --output json
--output env prints export lines for a shell.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "json" && output != "env" {
				return fmt.Errorf("--output %q: use json or env", output)
			}
			q := ""
			if ttl > 0 {
				q = "ttl=" + ttl.String()
			}
			var cr ensemble.CredentialsResponse
			if err := c.post(ensemble.CredentialsPath, q, nil, &cr); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if output == "env" {
				_, err := fmt.Fprintf(w, "export AWS_ACCESS_KEY_ID=%s\nexport AWS_SECRET_ACCESS_KEY=%s\nunset AWS_SESSION_TOKEN\n# user %s, expires %s\n",
					cr.AccessKeyID, cr.SecretAccessKey, cr.User, cr.Expiration)
				return err
			}
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(cr)
		},
	}
	c.register(cmd)
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "lifetime of the key (default: the proxy's --credentials-ttl; at most its --credentials-max-ttl)")
	cmd.Flags().StringVar(&output, "output", "json", "json (credential_process format) or env")
	return cmd
}

func newEnsembleRevoke() *cobra.Command {
	var (
		c    ensembleClient
		req  ensemble.RevokeRequest
		mine bool
	)
	cmd := &cobra.Command{
		Use:   "revoke (--access-key-id ID | --user USER | --all-mine)",
		Short: "Revoke an ensemble access key, or every key of a user",
		Long: `Revoke one access key (its owner or an admin may), or every key a user holds now
(the user themself or an admin). Revocations are recorded in the proxy's data
directory and take effect at once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n := 0
			for _, set := range []bool{req.AccessKeyID != "", req.User != "", mine} {
				if set {
					n++
				}
			}
			if n != 1 {
				return errors.New("give exactly one of --access-key-id ID, --user USER or --all-mine")
			}
			var out map[string]string
			if err := c.post(ensemble.RevokePath, "", req, &out); err != nil {
				return err
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "revoked:", out["revoked"])
			return err
		},
	}
	c.register(cmd)
	cmd.Flags().StringVar(&req.AccessKeyID, "access-key-id", "", "the access key id to revoke")
	cmd.Flags().StringVar(&req.User, "user", "", "revoke every key of this user (admins; or yourself)")
	cmd.Flags().BoolVar(&mine, "all-mine", false, "revoke every key of the token's user")
	return cmd
}

func newEnsembleKeygen() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen --out FILE",
		Short: "Write a new master key for the ensemble's access keys (mode 0600)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("--out FILE is required")
			}
			if err := s3keys.GenerateMasterKey(out); err != nil {
				return err
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "master key: %s (keep it secret: it derives every access key's secret; give it to 'lakegate ensemble --master-key-file')\n", out)
			return err
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write (never overwritten)")
	return cmd
}
