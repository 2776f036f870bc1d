package s3keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"
)

// Prefix starts every access key id.
const Prefix = "LG"

// Limits and defaults.
const (
	MasterKeyBytes = 32
	DefaultTTL     = time.Hour
	MaxTTL         = 12 * time.Hour
	// MaxIDLength bounds an access key id (a user in very many groups makes
	// long ids; past this the exchange is refused).
	MaxIDLength = 2048
	version     = 1
	nonceLen    = 12
	kidLen      = 4
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Errors of Lookup and Check. Their messages are safe to show to clients.
var (
	ErrUnknown = errors.New("the access key id does not exist: it is malformed, altered, or from another lakegate installation")
	ErrExpired = errors.New("the access key has expired; exchange a token for a new one (lakegate ensemble credentials)")
	ErrRevoked = errors.New("the access key has been revoked; exchange a token for a new one (lakegate ensemble credentials)")
)

// Identity is who an access key belongs to.
type Identity struct {
	AccessKeyID string
	User        string
	Groups      []string
	IssuedAt    time.Time
	ExpiresAt   time.Time
}

// Credentials are a new access key.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	Expiration      time.Time
	User            string
	Groups          []string
}

type master struct {
	kid    [kidLen]byte
	aead   cipher.AEAD
	secret []byte // HMAC key of secrets
}

// Keys issues and checks access keys. It is safe for concurrent use.
type Keys struct {
	masters []*master
	revoked *Revocations
	maxTTL  time.Duration
}

func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("lakegate-ensemble/" + label))
	return m.Sum(nil)
}

// New returns Keys over the master keys (the first signs new keys) and the
// revocation list; maxTTL caps lifetimes (0 means MaxTTL).
func New(masterKeys [][]byte, revoked *Revocations, maxTTL time.Duration) (*Keys, error) {
	if len(masterKeys) == 0 {
		return nil, errors.New("no master key: generate one with 'lakegate ensemble keygen --out FILE' and pass --master-key-file FILE (or set LAKEGATE_MASTER_KEY)")
	}
	if revoked == nil {
		return nil, errors.New("s3keys: no revocation list")
	}
	if maxTTL <= 0 {
		maxTTL = MaxTTL
	}
	k := &Keys{revoked: revoked, maxTTL: maxTTL}
	seen := map[[kidLen]byte]bool{}
	for i, mk := range masterKeys {
		if len(mk) != MasterKeyBytes {
			return nil, fmt.Errorf("master key %d has %d bytes; it must have %d (64 hex digits)", i+1, len(mk), MasterKeyBytes)
		}
		block, err := aes.NewCipher(derive(mk, "key-id-v1"))
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		m := &master{aead: aead, secret: derive(mk, "secret-v1")}
		copy(m.kid[:], derive(mk, "kid-v1"))
		if seen[m.kid] {
			return nil, fmt.Errorf("master key %d is given twice", i+1)
		}
		seen[m.kid] = true
		k.masters = append(k.masters, m)
	}
	return k, nil
}

// MaxTTL is the longest lifetime Issue gives.
func (k *Keys) MaxTTL() time.Duration { return k.maxTTL }

// Issue makes an access key for user and groups, valid from now for ttl
// (0 means DefaultTTL; longer than MaxTTL is cut to it).
func (k *Keys) Issue(user string, groups []string, ttl time.Duration, now time.Time) (Credentials, error) {
	if user == "" || !utf8.ValidString(user) || len(user) > 256 {
		return Credentials{}, errors.New("s3keys: invalid user name")
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	ttl = min(ttl, k.maxTTL)
	now = now.Truncate(time.Second)
	exp := now.Add(ttl)
	var plain []byte
	plain = binary.BigEndian.AppendUint64(plain, uint64(now.Unix()))
	plain = binary.BigEndian.AppendUint64(plain, uint64(exp.Unix()))
	plain = appendString(plain, user)
	plain = binary.AppendUvarint(plain, uint64(len(groups)))
	for _, g := range groups {
		plain = appendString(plain, g)
	}
	m := k.masters[0]
	head := append([]byte{version}, m.kid[:]...)
	nonce := make([]byte, nonceLen)
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		return Credentials{}, fmt.Errorf("s3keys: random nonce: %w", err)
	}
	raw := append(append(head, nonce...), m.aead.Seal(nil, nonce, plain, head)...)
	id := Prefix + b32.EncodeToString(raw)
	if len(id) > MaxIDLength {
		return Credentials{}, fmt.Errorf("the access key id would be %d characters long (at most %d): the token lists too many groups; ask for a token with fewer groups", len(id), MaxIDLength)
	}
	return Credentials{AccessKeyID: id, SecretAccessKey: secretOf(m, id), Expiration: exp, User: user, Groups: groups}, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func secretOf(m *master, id string) string {
	mac := hmac.New(sha256.New, m.secret)
	mac.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:30])
}

// Lookup opens an access key id and returns its identity and secret, or
// ErrUnknown. It does not check expiry or revocation (see Check): a
// request's signature is verified first.
func (k *Keys) Lookup(id string) (*Identity, string, error) {
	if len(id) > MaxIDLength || !strings.HasPrefix(id, Prefix) {
		return nil, "", ErrUnknown
	}
	raw, err := b32.DecodeString(id[len(Prefix):])
	// Only the canonical spelling is accepted: one key, one id.
	if err != nil || len(raw) < 1+kidLen+nonceLen+16 || raw[0] != version || b32.EncodeToString(raw) != id[len(Prefix):] {
		return nil, "", ErrUnknown
	}
	head, nonce, sealed := raw[:1+kidLen], raw[1+kidLen:1+kidLen+nonceLen], raw[1+kidLen+nonceLen:]
	for _, m := range k.masters {
		if !hmac.Equal(m.kid[:], head[1:]) {
			continue
		}
		plain, err := m.aead.Open(nil, nonce, sealed, head)
		if err != nil {
			return nil, "", ErrUnknown
		}
		ident, err := decodeIdentity(plain)
		if err != nil {
			return nil, "", ErrUnknown
		}
		ident.AccessKeyID = id
		return ident, secretOf(m, id), nil
	}
	return nil, "", ErrUnknown
}

func decodeIdentity(b []byte) (*Identity, error) {
	bad := errors.New("bad identity")
	if len(b) < 16 {
		return nil, bad
	}
	id := &Identity{
		IssuedAt:  time.Unix(int64(binary.BigEndian.Uint64(b)), 0).UTC(),
		ExpiresAt: time.Unix(int64(binary.BigEndian.Uint64(b[8:])), 0).UTC(),
	}
	b = b[16:]
	str := func() (string, bool) {
		n, w := binary.Uvarint(b)
		if w <= 0 || n > uint64(len(b)-w) {
			return "", false
		}
		s := string(b[w : w+int(n)])
		b = b[w+int(n):]
		return s, true
	}
	var ok bool
	if id.User, ok = str(); !ok {
		return nil, bad
	}
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)) {
		return nil, bad
	}
	b = b[w:]
	id.Groups = make([]string, 0, n)
	for i := uint64(0); i < n; i++ {
		g, ok := str()
		if !ok {
			return nil, bad
		}
		id.Groups = append(id.Groups, g)
	}
	if len(b) != 0 {
		return nil, bad
	}
	return id, nil
}

// Check returns ErrExpired or ErrRevoked when the identity's key may no
// longer be used at now, or an error when revocations cannot be read.
func (k *Keys) Check(id *Identity, now time.Time) error {
	if !now.Before(id.ExpiresAt) {
		return ErrExpired
	}
	return k.revoked.Check(id, now)
}

// Revocations returns the revocation list.
func (k *Keys) Revocations() *Revocations { return k.revoked }

// ParseMasterKey reads a master key: 64 hex digits (surrounding white space
// ignored).
func ParseMasterKey(text []byte) ([]byte, error) {
	s := strings.TrimSpace(string(text))
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != MasterKeyBytes {
		return nil, fmt.Errorf("a master key is %d hex digits (make one with 'lakegate ensemble keygen')", 2*MasterKeyBytes)
	}
	return b, nil
}

// LoadMasterKeys reads master keys from files (each holding one key) and,
// when envValue is not empty, from it (keys separated by commas). The first
// key found signs new access keys: env keys come first.
func LoadMasterKeys(files []string, envValue string) ([][]byte, error) {
	var out [][]byte
	for i, part := range strings.Split(envValue, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, err := ParseMasterKey([]byte(part))
		if err != nil {
			return nil, fmt.Errorf("LAKEGATE_MASTER_KEY, key %d: %w", i+1, err)
		}
		out = append(out, k)
	}
	for _, f := range files {
		if strings.TrimSpace(f) == "" {
			continue
		}
		fi, err := os.Stat(f)
		if err != nil {
			return nil, fmt.Errorf("master key file: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("master key file %s is readable by other users (mode %s); restrict it with chmod 600", f, fi.Mode().Perm())
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("master key file: %w", err)
		}
		k, err := ParseMasterKey(b)
		if err != nil {
			return nil, fmt.Errorf("master key file %s: %w", f, err)
		}
		out = append(out, k)
	}
	return out, nil
}

// GenerateMasterKey writes a new random master key to path (mode 0600). It
// never overwrites a file.
func GenerateMasterKey(path string) error {
	key := make([]byte, MasterKeyBytes)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s already exists; lakegate never overwrites a key", path)
		}
		return err
	}
	_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
	}
	return err
}
