package authn

import (
	"context"
	"crypto/elliptic"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// A cluster signing key's tokens name a user and nothing more: a key stolen
// from a cluster cannot claim groups (the admin group included) or
// attributes, nor, with --cluster-key-subjects, users outside the pattern.
func TestClusterKeyLimits(t *testing.T) {
	idp := rsaKey(t, "main", 2048)
	cluster := ecKey(t, "cluster", elliptic.P256())
	dir := t.TempDir()
	idpFile, clusterFile := writePub(t, dir, "idp.pem", &idp.PublicKey), writePub(t, dir, "cluster.pem", &cluster.PublicKey)
	newV := func(l KeyLimits) *Verifier {
		v, err := NewVerifier(context.Background(), Config{PublicKeyFiles: []string{idpFile}, ClusterKeyFiles: []string{clusterFile},
			ClusterKeyLimits: l, Issuer: testIssuer, Audience: testAudience, Logger: quietLog})
		require.NoError(t, err)
		t.Cleanup(v.Close)
		return v
	}
	admin := with(baseClaims(), "sub", "root", "groups", []string{"admin", "eng"}, "attributes", map[string]any{"region": "ALL"})

	v := newV(KeyLimits{})
	p, err := v.Verify(mint(t, "ES256", nil, admin, es256(cluster)), testNow)
	require.NoError(t, err)
	require.Equal(t, "root", p.User)
	require.True(t, p.ClusterKey)
	require.Empty(t, p.Groups, "a cluster key's groups claim is not believed")
	require.Empty(t, p.Attributes)
	// The identity provider's key is fully trusted, as before.
	p, err = v.Verify(mint(t, "RS256", nil, admin, rs256(idp)), testNow)
	require.NoError(t, err)
	require.False(t, p.ClusterKey)
	require.Equal(t, []string{"admin", "eng"}, p.Groups)
	require.Equal(t, "ALL", p.Attributes["region"])

	// Groups allowed: taken, still marked (the planner never makes it admin).
	v = newV(KeyLimits{Groups: true, Subjects: regexp.MustCompile(`^(?:[a-z]+@corp\.example)$`)})
	p, err = v.Verify(mint(t, "ES256", nil, with(admin, "sub", "ann@corp.example"), es256(cluster)), testNow)
	require.NoError(t, err)
	require.True(t, p.ClusterKey)
	require.Equal(t, []string{"admin", "eng"}, p.Groups)
	for _, sub := range []string{"root", "ann@corp.example.evil", "x ann@corp.example", "svc-ensemble"} {
		_, err = v.Verify(mint(t, "ES256", nil, with(admin, "sub", sub), es256(cluster)), testNow)
		require.Error(t, err, sub)
		require.Equal(t, CodeBadSubject, CodeOf(err))
		require.Contains(t, err.Error(), "cluster signing key")
	}

	// One key cannot be both.
	_, err = NewVerifier(context.Background(), Config{PublicKeyFiles: []string{clusterFile}, ClusterKeyFiles: []string{clusterFile}, Logger: quietLog})
	require.Error(t, err)
	require.Contains(t, err.Error(), "both as a cluster signing key")
}
