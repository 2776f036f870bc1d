package authn

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The command-line flags that set the key sources, named in messages.
const (
	flagPublicKey  = "--jwt-public-key"
	flagJWKSURL    = "--jwks-url"
	flagSelfSigned = "--insecure-accept-self-signed"
	flagClusterKey = "--cluster-signing-key"
)

// Defaults of Config.
const (
	DefaultGroupsClaim   = "groups"
	DefaultLeeway        = 30 * time.Second
	DefaultMaxTokenBytes = 16384
)

// Principal is the authenticated caller, as the policy engine sees it.
type Principal struct {
	User       string            // from sub
	Groups     []string          // from the groups claim: sorted, de-duplicated, lower-cased; never nil
	Attributes map[string]string // string members of the "attributes" object claim; never nil
	SelfSigned bool              // verified only by the key embedded in its own header (insecure POC mode)
	// ClusterKey: verified by a cluster signing key (Config.ClusterKeyFiles):
	// the token names a user and nothing more (see KeyLimits); the planner
	// never gives such a principal admin rights or lets it act for others.
	ClusterKey bool
	Issuer     string    // iss, "" if absent
	ExpiresAt  time.Time // exp
}

// Config says which tokens a Verifier accepts. At least one key source
// (PublicKeyFiles, JWKSURL) or AcceptSelfSigned is needed.
type Config struct {
	// PEM files: PKIX "PUBLIC KEY", PKCS#1 "RSA PUBLIC KEY" or a certificate
	// (the first one of a file; the rest is taken as its chain). RSA keys of
	// at least 2048 bits or EC P-256 keys. A key's kid is its RFC 7638
	// thumbprint (see Thumbprint).
	PublicKeyFiles []string
	// JWKS URL: fetched by NewVerifier (which fails if it cannot be),
	// refreshed every JWKSRefreshInterval and on an unknown kid, at most
	// once per JWKSMinRefreshInterval.
	JWKSURL string
	// When set, iss must equal Issuer, and aud (a string or an array) must
	// contain Audience.
	Issuer, Audience string
	// Name of the groups claim; default "groups".
	GroupsClaim string
	// Cluster signing keys (PEM files, as PublicKeyFiles): the keys a Spark
	// cluster signs its users' tokens with. A cluster holds its private key,
	// so anyone who steals it from a cluster can sign any token: its tokens
	// are believed only within ClusterKeyLimits.
	ClusterKeyFiles  []string
	ClusterKeyLimits KeyLimits
	// Accept tokens verified only by the key in their own "jwk" header
	// (--insecure-accept-self-signed). Insecure: anyone can claim any user.
	AcceptSelfSigned bool
	// Clock skew allowed for exp, nbf and iat; 0 means 30s, negative none.
	Leeway time.Duration
	// Longer tokens are refused before any parsing; 0 means 16384.
	MaxTokenBytes int
	// Client for the JWKS; default: a client with a 10s timeout.
	HTTPClient *http.Client
	// Logger; default slog.Default(). Tokens and keys are never logged.
	Logger *slog.Logger
	// JWKS refresh period (default 10m) and minimum time between refreshes
	// on demand, or after a failed refresh (default 1m).
	JWKSRefreshInterval    time.Duration
	JWKSMinRefreshInterval time.Duration
}

// KeyLimits bound what a token verified by a cluster signing key can claim.
type KeyLimits struct {
	// Subjects, when set, is a regular expression that the whole subject
	// must match (say ^[a-z0-9._-]+@corp\.example$); others are refused.
	Subjects *regexp.Regexp
	// Groups: take the groups claim (and attributes) of such tokens.
	// Default false: the token names a user only, and groups come from
	// elsewhere (user-level role grants, a directory).
	Groups bool
}

// Verifier verifies tokens. It is safe for concurrent use.
type Verifier struct {
	static           []*pubKey
	jwks             *jwksSource
	acceptSelfSigned bool
	clusterLimits    KeyLimits
	issuer, audience string
	groupsClaim      string
	leeway           time.Duration
	maxBytes         int
	log              *slog.Logger
	closeOnce        sync.Once
}

var signingMethods = map[string]jwt.SigningMethod{
	"RS256": jwt.SigningMethodRS256,
	"RS512": jwt.SigningMethodRS512,
	"ES256": jwt.SigningMethodES256,
}

// NewVerifier loads the configured keys and, with a JWKS URL, fetches it
// (bounded by ctx) and starts refreshing it in the background until Close.
// It fails when a key file or the JWKS is unusable, and when there is no
// key source at all and AcceptSelfSigned is false.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "authn")
	v := &Verifier{
		acceptSelfSigned: cfg.AcceptSelfSigned,
		clusterLimits:    cfg.ClusterKeyLimits,
		issuer:           cfg.Issuer,
		audience:         cfg.Audience,
		groupsClaim:      cfg.GroupsClaim,
		leeway:           cfg.Leeway,
		maxBytes:         cfg.MaxTokenBytes,
		log:              log,
	}
	if v.groupsClaim == "" {
		v.groupsClaim = DefaultGroupsClaim
	}
	switch {
	case v.leeway == 0:
		v.leeway = DefaultLeeway
	case v.leeway < 0:
		v.leeway = 0
	}
	if v.maxBytes <= 0 {
		v.maxBytes = DefaultMaxTokenBytes
	}
	seen := map[string]bool{}
	cluster := map[string]bool{}
	load := func(paths []string, limited bool) error {
		for _, path := range paths {
			if strings.TrimSpace(path) == "" {
				continue
			}
			keys, err := loadPublicKeyFile(path)
			if err != nil {
				return wrapErr(CodeConfig, err, "%v", err)
			}
			for _, k := range keys {
				if limited {
					cluster[k.kid] = true
				} else if cluster[k.kid] {
					return newErr(CodeConfig, "the key %s (%s) is given both as a cluster signing key (%s) and as a fully trusted key (%s); give it once", k.kid, path, flagClusterKey, flagPublicKey)
				}
				if seen[k.kid] {
					continue
				}
				seen[k.kid] = true
				k.limited = limited
				v.static = append(v.static, k)
				log.Info("JWT public key loaded", "file", path, "kid", k.kid, "type", keyKind(k.key), "cluster_key", limited)
			}
		}
		return nil
	}
	if err := load(cfg.ClusterKeyFiles, true); err != nil {
		return nil, err
	}
	if err := load(cfg.PublicKeyFiles, false); err != nil {
		return nil, err
	}
	if cfg.JWKSURL != "" {
		j, err := newJWKSSource(ctx, cfg, log)
		if err != nil {
			return nil, err
		}
		v.jwks = j
	}
	if len(v.static) == 0 && v.jwks == nil && !cfg.AcceptSelfSigned {
		return nil, newErr(CodeConfig, "no way to verify tokens: give the issuer's public key with %s (PEM file) or its JWKS with %s; for a proof of concept only, %s accepts self-signed tokens (insecure)", flagPublicKey, flagJWKSURL, flagSelfSigned)
	}
	if cfg.AcceptSelfSigned {
		log.Warn("INSECURE: accepting self-signed JWTs (" + flagSelfSigned + "): anyone who can reach the planner can claim to be any user, admins included; use this only for a proof of concept")
	}
	return v, nil
}

// Close stops the JWKS refresh. The Verifier keeps verifying with the keys
// it has. Close may be called more than once.
func (v *Verifier) Close() {
	v.closeOnce.Do(func() {
		if v.jwks != nil {
			v.jwks.close()
		}
	})
}

// AcceptsSelfSigned reports whether the Verifier runs in the insecure POC
// mode, for whoami and status pages.
func (v *Verifier) AcceptsSelfSigned() bool { return v.acceptSelfSigned }

// KeyIDs returns the kids of the keys currently configured (files, then
// JWKS), for status pages.
func (v *Verifier) KeyIDs() []string {
	var kids []string
	for _, k := range v.keys() {
		kids = append(kids, k.kid)
	}
	return kids
}

func (v *Verifier) keys() []*pubKey {
	if v.jwks == nil {
		return v.static
	}
	j := v.jwks.current()
	if len(v.static) == 0 {
		return j
	}
	all := make([]*pubKey, 0, len(v.static)+len(j))
	return append(append(all, v.static...), j...)
}

// Verify checks token at time now (the zero time means time.Now()) and
// returns its principal, or an *Error. The token must be the bare compact
// JWT: no "Bearer " prefix, no surrounding white space.
func (v *Verifier) Verify(token string, now time.Time) (*Principal, error) {
	p, err := v.verify(token, now)
	if err != nil {
		v.log.Debug("token refused", "code", CodeOf(err))
		return nil, err
	}
	return p, nil
}

func (v *Verifier) verify(token string, now time.Time) (*Principal, error) {
	if now.IsZero() {
		now = time.Now()
	}
	rt, err := parseToken(token, v.maxBytes)
	if err != nil {
		return nil, err
	}
	method := signingMethods[rt.alg] // parseToken admits only these algs
	cands, keyErr := v.candidates(rt.alg, rt.kid)
	var verifiedBy *pubKey
	for _, k := range cands {
		if method.Verify(rt.signingInput, rt.sig, k.key) == nil {
			verifiedBy = k
			break
		}
	}
	verified := verifiedBy != nil
	selfSigned := false
	if !verified {
		switch {
		case rt.jwk != nil:
			if err := v.verifyEmbedded(rt, method); err != nil {
				return nil, err
			}
			selfSigned = true
		case keyErr != nil:
			return nil, keyErr
		default:
			return nil, newErr(CodeBadSignature, "the token's signature does not match any configured key (%d %s key(s) tried); it was signed by another key or altered. Check that the planner's %s or %s belongs to the token's issuer", len(cands), rt.alg, flagPublicKey, flagJWKSURL)
		}
	}
	p, err := v.principal(rt, now, selfSigned)
	if err != nil || verifiedBy == nil || !verifiedBy.limited {
		return p, err
	}
	return v.limit(p)
}

// limit applies the cluster key limits to a principal one verified.
func (v *Verifier) limit(p *Principal) (*Principal, error) {
	if re := v.clusterLimits.Subjects; re != nil && !re.MatchString(p.User) {
		return nil, newErr(CodeBadSubject, "the token is signed by a cluster signing key, which may sign only for subjects matching %s, and names %s; the planner's --cluster-key-subjects decides which users a cluster may name", quote(re.String()), quote(p.User))
	}
	p.ClusterKey = true
	if !v.clusterLimits.Groups {
		p.Groups = []string{}
		p.Attributes = map[string]string{}
	}
	return p, nil
}

// candidates returns the configured keys that may verify a token with
// this alg and kid. A kid that names a configured key selects that key
// only; a kid we do not know (after a JWKS refresh) or no kid selects
// every key of the right type: kids are hints, all configured keys are
// equally trusted.
func (v *Verifier) candidates(alg, kid string) ([]*pubKey, error) {
	all := v.keys()
	if kid != "" {
		matched := withKid(all, kid)
		if len(matched) == 0 && v.jwks != nil {
			v.jwks.refreshForKid()
			all = v.keys()
			matched = withKid(all, kid)
		}
		if len(matched) > 0 {
			fit := fitting(matched, alg)
			if len(fit) == 0 {
				k := matched[0]
				what := keyKind(k.key)
				if k.alg != "" {
					what += ", for " + k.alg + " only"
				}
				return nil, newErr(CodeNoKey, "the token names the configured key %s (%s), which cannot verify an %s signature; the token is forged or its issuer mixes up keys and algorithms", quote(kid), what, alg)
			}
			return fit, nil
		}
	}
	fit := fitting(all, alg)
	if len(fit) == 0 {
		if len(all) == 0 {
			return nil, newErr(CodeNoKey, "no public key is configured (only self-signed tokens are accepted) and this token is not self-signed; configure the issuer's key with %s or %s", flagPublicKey, flagJWKSURL)
		}
		kinds := make([]string, 0, len(all))
		for _, k := range all {
			kinds = append(kinds, keyKind(k.key))
		}
		return nil, newErr(CodeNoKey, "no configured key can verify an %s signature (the configured keys are %s); sign tokens with an algorithm that fits the configured key, or configure the issuer's key", alg, strings.Join(kinds, ", "))
	}
	return fit, nil
}

func withKid(keys []*pubKey, kid string) []*pubKey {
	var out []*pubKey
	for _, k := range keys {
		if k.kid == kid {
			out = append(out, k)
		}
	}
	return out
}

func fitting(keys []*pubKey, alg string) []*pubKey {
	out := make([]*pubKey, 0, len(keys))
	for _, k := range keys {
		if k.fits(alg) {
			out = append(out, k)
		}
	}
	return out
}

// verifyEmbedded checks a token against the key in its own jwk header,
// after no configured key verified it.
func (v *Verifier) verifyEmbedded(rt *rawToken, method jwt.SigningMethod) error {
	if !v.acceptSelfSigned {
		return newErr(CodeSelfSignedRefused, "the token is self-signed (it carries its own key in the jwk header) and no configured key verifies it; self-signed tokens prove nothing about who sent them. Use a token signed by a configured key (shared signing key or per-cluster token) or, for a proof of concept only, start the planner with %s", flagSelfSigned)
	}
	obj, err := decodeObject(rt.jwk)
	if err != nil {
		return wrapErr(CodeBadKey, err, "the key embedded in the token header (jwk) is not a JSON object; re-sign the token")
	}
	k, err := parseJWK(obj, "embedded jwk")
	if errors.Is(err, errSkipKey) {
		return newErr(CodeBadKey, "the key embedded in the token header (jwk) is not a signature key for RS256, RS512 or ES256; re-sign the token")
	}
	if err != nil {
		return wrapErr(CodeBadKey, err, "the key embedded in the token header (jwk) is unusable: %v; re-sign the token with an RSA (at least 2048 bits) or EC P-256 key", err)
	}
	if !k.fits(rt.alg) {
		return newErr(CodeBadKey, "the key embedded in the token header (jwk) is an %s key, which cannot verify an %s signature; re-sign the token", keyKind(k.key), rt.alg)
	}
	if method.Verify(rt.signingInput, rt.sig, k.key) != nil {
		return newErr(CodeBadSignature, "the token's signature does not match the key embedded in its header; the token was altered")
	}
	return nil
}

// principal checks the claims of a token whose signature is verified and
// builds its Principal.
func (v *Verifier) principal(rt *rawToken, now time.Time, selfSigned bool) (*Principal, error) {
	c := rt.payload
	exp, err := claimTime(c, "exp")
	if err != nil {
		return nil, err
	}
	if exp == nil {
		return nil, newErr(CodeMissingExpiry, "the token has no expiry (exp claim); lakegate accepts only tokens that expire, so mint it with a lifetime")
	}
	nbf, err := claimTime(c, "nbf")
	if err != nil {
		return nil, err
	}
	iat, err := claimTime(c, "iat")
	if err != nil {
		return nil, err
	}
	iss, hasIss, err := claimString(c, "iss")
	if err != nil {
		return nil, err
	}
	aud, err := claimAudience(c)
	if err != nil {
		return nil, err
	}

	rc := jwt.RegisteredClaims{
		Issuer:    iss,
		Audience:  jwt.ClaimStrings(aud),
		ExpiresAt: exp.numericDate(),
		NotBefore: nbf.numericDate(),
		IssuedAt:  iat.numericDate(),
	}
	opts := []jwt.ParserOption{
		jwt.WithLeeway(v.leeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	}
	if v.issuer != "" {
		opts = append(opts, jwt.WithIssuer(v.issuer))
	}
	if v.audience != "" {
		opts = append(opts, jwt.WithAudience(v.audience))
	}
	if err := jwt.NewValidator(opts...).Validate(rc); err != nil {
		skew := v.leeway.String()
		switch {
		case errors.Is(err, jwt.ErrTokenExpired):
			return nil, wrapErr(CodeExpired, err, "the token expired at %s, %s before now (allowed clock skew %s); get a new token, or check the clocks of client and planner", rc.ExpiresAt.UTC().Format(time.RFC3339), now.Sub(rc.ExpiresAt.Time).Round(time.Second), skew)
		case errors.Is(err, jwt.ErrTokenNotValidYet):
			return nil, wrapErr(CodeNotYetValid, err, "the token is not valid before %s (nbf), %s from now (allowed clock skew %s); check the clocks of the token issuer and the planner", rc.NotBefore.UTC().Format(time.RFC3339), rc.NotBefore.Sub(now).Round(time.Second), skew)
		case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
			return nil, wrapErr(CodeNotYetValid, err, "the token was issued in the future, at %s (iat), %s from now (allowed clock skew %s); check the clocks of the token issuer and the planner", rc.IssuedAt.UTC().Format(time.RFC3339), rc.IssuedAt.Sub(now).Round(time.Second), skew)
		case v.issuer != "" && (!hasIss || iss != v.issuer):
			if !hasIss {
				return nil, wrapErr(CodeBadIssuer, err, "the token has no issuer (iss claim), and the planner accepts only tokens issued by %s; mint the token with that issuer", quote(v.issuer))
			}
			return nil, wrapErr(CodeBadIssuer, err, "the token was issued by %s, and the planner accepts only tokens issued by %s; use a token from that issuer or fix the planner's issuer setting", quote(iss), quote(v.issuer))
		case v.audience != "" && !slices.Contains(aud, v.audience):
			if len(aud) == 0 {
				return nil, wrapErr(CodeBadAudience, err, "the token has no audience (aud claim), and the planner accepts only tokens for %s; mint the token for that audience", quote(v.audience))
			}
			return nil, wrapErr(CodeBadAudience, err, "the token is meant for %s, not for this planner (%s); use a token minted for this planner's audience", quoteList(aud), quote(v.audience))
		default:
			return nil, wrapErr(CodeBadClaim, err, "the token's registered claims are invalid: %v", err)
		}
	}

	sub, hasSub, err := claimString(c, "sub")
	if err != nil {
		return nil, wrapErr(CodeBadSubject, err, "the token's subject (sub claim) is not a string; fix the token issuer")
	}
	if !hasSub || strings.TrimSpace(sub) == "" {
		return nil, newErr(CodeMissingSubject, "the token has no subject (sub claim); lakegate takes the user name from sub, so mint the token with it")
	}
	if why := checkName(sub); why != "" {
		return nil, newErr(CodeBadSubject, "the token's subject (sub claim) %s; user names must be at most %d bytes of UTF-8 text without control characters", why, maxNameBytes)
	}
	groups, err := claimGroups(c, v.groupsClaim)
	if err != nil {
		return nil, err
	}
	return &Principal{
		User:       sub,
		Groups:     groups,
		Attributes: claimAttributes(c),
		SelfSigned: selfSigned,
		Issuer:     iss,
		ExpiresAt:  exp.time(),
	}, nil
}

func (t *timeClaim) time() time.Time {
	if t == nil {
		return time.Time{}
	}
	return time.Unix(t.sec, t.nsec).UTC()
}

func (t *timeClaim) numericDate() *jwt.NumericDate {
	if t == nil {
		return nil
	}
	return &jwt.NumericDate{Time: t.time()}
}
