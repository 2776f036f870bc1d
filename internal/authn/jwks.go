package authn

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

const (
	defaultJWKSRefresh    = 10 * time.Minute
	defaultJWKSMinRefresh = time.Minute
	jwksFetchTimeout      = 10 * time.Second
	maxJWKSBytes          = 1 << 20
)

// jwksSource holds the keys published at a JWKS URL and keeps them fresh:
// a background refresh every interval (retried after minInterval when it
// fails), and a refresh on demand when a token names an unknown kid, at
// most once per minInterval. When a refresh fails the last good keys stay
// in use.
type jwksSource struct {
	url         string
	logURL      string // without credentials or query, for logs and messages
	client      *http.Client
	log         *slog.Logger
	interval    time.Duration
	minInterval time.Duration

	keys atomic.Pointer[[]*pubKey]

	mu           sync.Mutex // serialises fetches
	lastOnDemand time.Time

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newJWKSSource(ctx context.Context, cfg Config, log *slog.Logger) (*jwksSource, error) {
	u, err := url.Parse(cfg.JWKSURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, newErr(CodeConfig, "the JWKS URL is not an http(s) URL; give the issuer's JWKS address, e.g. https://idp.example.com/.well-known/jwks.json")
	}
	logURL := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		log.Warn("the JWKS URL is plain http: anyone on the network path can replace the keys and forge tokens; use https", "url", logURL)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: jwksFetchTimeout}
	}
	j := &jwksSource{
		url:         cfg.JWKSURL,
		logURL:      logURL,
		client:      client,
		log:         log,
		interval:    cfg.JWKSRefreshInterval,
		minInterval: cfg.JWKSMinRefreshInterval,
	}
	if j.interval <= 0 {
		j.interval = defaultJWKSRefresh
	}
	if j.minInterval <= 0 {
		j.minInterval = defaultJWKSMinRefresh
	}
	empty := []*pubKey{}
	j.keys.Store(&empty)
	// The background refresh lives until Close, not as long as ctx, which
	// bounds only this first fetch.
	j.ctx, j.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := j.refresh(ctx, "start"); err != nil {
		j.cancel()
		return nil, wrapErr(CodeConfig, err, "cannot load the signing keys from the JWKS URL %s: %v; check the URL and that the planner can reach it", logURL, err)
	}
	j.wg.Add(1)
	go j.run()
	return j, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (j *jwksSource) current() []*pubKey { return *j.keys.Load() }

func (j *jwksSource) run() {
	defer j.wg.Done()
	t := time.NewTimer(j.interval)
	defer t.Stop()
	for {
		select {
		case <-j.ctx.Done():
			return
		case <-t.C:
		}
		next := j.interval
		if err := j.refresh(j.ctx, "periodic"); err != nil {
			next = j.minInterval
		}
		t.Reset(next)
	}
}

// refreshForKid refetches the JWKS because a token named a kid we do not
// know, unless an on-demand refresh already ran within minInterval.
func (j *jwksSource) refreshForKid() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if time.Since(j.lastOnDemand) < j.minInterval {
		return
	}
	j.lastOnDemand = time.Now()
	_ = j.refreshLocked(j.ctx, "unknown kid")
}

func (j *jwksSource) refresh(ctx context.Context, reason string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.refreshLocked(ctx, reason)
}

func (j *jwksSource) refreshLocked(ctx context.Context, reason string) error {
	ctx, cancel := context.WithTimeout(ctx, jwksFetchTimeout)
	defer cancel()
	keys, err := j.fetch(ctx)
	if err != nil {
		if reason != "start" {
			j.log.Warn("JWKS refresh failed; keeping the previous keys", "url", j.logURL, "reason", reason, "err", err)
		}
		return err
	}
	old := j.current()
	j.keys.Store(&keys)
	kids := make([]string, len(keys))
	for i, k := range keys {
		kids[i] = k.kid
	}
	if changed(old, keys) {
		j.log.Info("JWKS keys loaded", "url", j.logURL, "reason", reason, "keys", len(keys), "kids", kids)
	} else {
		j.log.Debug("JWKS keys unchanged", "url", j.logURL, "reason", reason)
	}
	return nil
}

func changed(a, b []*pubKey) bool {
	if len(a) != len(b) {
		return true
	}
	for i := range a {
		if a[i].kid != b[i].kid || a[i].alg != b[i].alg {
			return true
		}
		ea, ok := a[i].key.(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !ea.Equal(b[i].key) {
			return true
		}
	}
	return false
}

func (j *jwksSource) fetch(ctx context.Context) ([]*pubKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := j.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the url.Error repeats the full URL, which may carry credentials
		}
		return nil, fmt.Errorf("fetching the JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("the JWKS server answered HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the JWKS: %w", err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("the JWKS is larger than %d bytes", maxJWKSBytes)
	}
	return parseJWKS(body, j.log)
}

// parseJWKS parses a JWK Set. Entries that are not usable signature keys
// are skipped (with a warning when they look like a mistake, such as an
// HMAC secret or a short RSA key); a set with no usable key is an error.
func parseJWKS(body []byte, log *slog.Logger) ([]*pubKey, error) {
	set, err := decodeObject(body)
	if err != nil {
		return nil, fmt.Errorf("the JWKS is not a JSON object: %w", err)
	}
	var entries []json.RawMessage
	if raw, ok := set["keys"]; !ok || json.Unmarshal(raw, &entries) != nil {
		return nil, errors.New("the JWKS has no \"keys\" array")
	}
	keys := make([]*pubKey, 0, len(entries))
	for i, raw := range entries {
		obj, err := decodeObject(raw)
		if err == nil {
			var k *pubKey
			k, err = parseJWK(obj, "JWKS")
			if err == nil {
				if slices.ContainsFunc(keys, func(o *pubKey) bool { return o.kid == k.kid && o.kid != "" && sameKey(o.key, k.key) }) {
					continue
				}
				keys = append(keys, k)
				continue
			}
		}
		if errors.Is(err, errSkipKey) {
			continue
		}
		var kid string
		if obj, e := decodeObject(raw); e == nil {
			_ = json.Unmarshal(obj["kid"], &kid)
		}
		log.Warn("ignoring a JWKS key", "index", i, "kid", kid, "why", err.Error())
	}
	if len(keys) == 0 {
		return nil, errors.New("the JWKS holds no usable signing key (RSA of at least 2048 bits or EC P-256, not HMAC)")
	}
	return keys, nil
}

func sameKey(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

func (j *jwksSource) close() {
	if j.cancel != nil {
		j.cancel()
	}
	j.wg.Wait()
}
