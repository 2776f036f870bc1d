package s3keys

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/lakegate/lakegate/internal/durable"
)

// File names in the revocation directory.
const (
	RevocationsFile = "revoked.json"
	revocationsLock = "revoked.lock"
)

// reloadEvery is how often Check looks for changes made by other processes.
const reloadEvery = time.Second

type revocationState struct {
	// Keys maps the SHA-256 (hex) of a revoked access key id to its expiry.
	Keys map[string]time.Time `json:"keys"`
	// Users maps a user to a time: every key of the user issued before it
	// is revoked.
	Users map[string]time.Time `json:"users"`
}

// Revocations is the persisted list of revoked keys. It is safe for
// concurrent use and shared through its directory by several processes.
type Revocations struct {
	dir    string
	maxTTL time.Duration
	log    *slog.Logger

	mu        sync.Mutex
	state     revocationState
	modTime   time.Time
	size      int64
	checkedAt time.Time
	readErr   error
}

// OpenRevocations loads dir/revoked.json (creating dir if needed). maxTTL
// is the longest key lifetime, after which a user entry can be pruned.
func OpenRevocations(dir string, maxTTL time.Duration, log *slog.Logger) (*Revocations, error) {
	if log == nil {
		log = slog.Default()
	}
	if maxTTL <= 0 {
		maxTTL = MaxTTL
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("revocations: %w", err)
	}
	r := &Revocations{dir: dir, maxTTL: maxTTL, log: log}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.reloadLocked(time.Now(), true); err != nil {
		return nil, err
	}
	return r, nil
}

func keyHash(id string) string {
	s := sha256.Sum256([]byte(id))
	return hex.EncodeToString(s[:])
}

func (r *Revocations) path() string { return filepath.Join(r.dir, RevocationsFile) }

// reloadLocked re-reads the file when it changed (or always with force).
func (r *Revocations) reloadLocked(now time.Time, force bool) error {
	r.checkedAt = now
	fi, err := os.Stat(r.path())
	if errors.Is(err, os.ErrNotExist) {
		r.state, r.readErr = revocationState{}, nil
		r.modTime, r.size = time.Time{}, 0
		return nil
	}
	if err != nil {
		r.readErr = fmt.Errorf("revocations: %w", err)
		return r.readErr
	}
	if !force && r.readErr == nil && fi.ModTime().Equal(r.modTime) && fi.Size() == r.size {
		return nil
	}
	st, err := readState(r.path())
	if err != nil {
		r.readErr = err
		return err
	}
	r.state, r.readErr, r.modTime, r.size = st, nil, fi.ModTime(), fi.Size()
	return nil
}

func readState(path string) (revocationState, error) {
	var st revocationState
	b, err := os.ReadFile(path)
	if err != nil {
		return st, fmt.Errorf("revocations: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("revocations: %s is corrupt (%v); restore it or remove it to forget every revocation", path, err)
	}
	return st, nil
}

// Check returns ErrRevoked when id's key is revoked, or an error when the
// list cannot be read (fail closed).
func (r *Revocations) Check(id *Identity, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.checkedAt) >= reloadEvery || r.readErr != nil {
		if err := r.reloadLocked(now, false); err != nil {
			r.log.Error("cannot read the revocation list; refusing every access key until it can be read", "err", err)
		}
	}
	if r.readErr != nil {
		return fmt.Errorf("the revocation list cannot be read, so no access key is accepted: %w", r.readErr)
	}
	if _, ok := r.state.Keys[keyHash(id.AccessKeyID)]; ok {
		return ErrRevoked
	}
	if cut, ok := r.state.Users[id.User]; ok && !id.IssuedAt.After(cut) {
		return ErrRevoked
	}
	return nil
}

// RevokeKey revokes one access key (whose key expires at expires).
func (r *Revocations) RevokeKey(id string, expires, now time.Time) error {
	return r.update(now, func(st *revocationState) { st.Keys[keyHash(id)] = expires.UTC() })
}

// RevokeUser revokes every key of user issued at or before at.
func (r *Revocations) RevokeUser(user string, at time.Time) error {
	return r.update(at, func(st *revocationState) {
		if cur, ok := st.Users[user]; !ok || at.After(cur) {
			st.Users[user] = at.UTC().Truncate(time.Second)
		}
	})
}

// update applies fn to the file's current content under the directory lock,
// prunes entries that no longer matter and writes the result atomically.
func (r *Revocations) update(now time.Time, fn func(*revocationState)) error {
	unlock, err := lockFile(filepath.Join(r.dir, revocationsLock))
	if err != nil {
		return err
	}
	defer unlock()
	st := revocationState{}
	if _, err := os.Stat(r.path()); err == nil {
		if st, err = readState(r.path()); err != nil {
			return err
		}
	}
	if st.Keys == nil {
		st.Keys = map[string]time.Time{}
	}
	if st.Users == nil {
		st.Users = map[string]time.Time{}
	}
	fn(&st)
	for k, exp := range st.Keys {
		if now.After(exp) {
			delete(st.Keys, k)
		}
	}
	for u, cut := range st.Users {
		if now.Sub(cut) > r.maxTTL+time.Minute {
			delete(st.Users, u)
		}
	}
	b, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return err
	}
	if err := durable.WriteFile(r.path(), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("revocations: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reloadLocked(time.Now(), true)
}
