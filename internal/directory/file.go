package directory

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/lakegate/lakegate/internal/catalog"
)

// File is a Source reading a YAML file of users, groups and attributes,
// for small setups and tests:
//
//	users:
//	  alice:
//	    groups: [analysts]
//	    attributes: {region: eu}
//	groups:              # or list a group's members here
//	  eu_staff: [alice, carol]
//
// The file is read again when its content changes (checked at each
// lookup, which the Resolver's cache makes rare). A file that no longer
// parses fails every lookup until it is fixed: its last good content is not
// used, since the change may have been a removal. Replace it atomically
// (write another file, then rename it over this one): a file read while it
// is half written may parse, and say less — or, cut inside a name, other —
// than it will.
type File struct {
	path string

	mu    sync.Mutex
	sum   [32]byte // of the content last parsed
	users map[string]Entry
	err   error
}

type fileFormat struct {
	Users map[string]struct {
		Groups     []string          `yaml:"groups"`
		Attributes map[string]string `yaml:"attributes"`
	} `yaml:"users"`
	Groups map[string][]string `yaml:"groups"`
}

// NewFile reads path once (an error if it does not parse).
func NewFile(path string) (*File, error) {
	f := &File{path: path}
	if err := f.reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// Name is "file".
func (f *File) Name() string { return "file" }

// Lookup returns what the file says of user (names compare without regard
// to case).
func (f *File) Lookup(_ context.Context, user string) (Entry, error) {
	if err := f.reload(); err != nil {
		return Entry{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.users[catalog.FoldName(user)], nil
}

// reload reads the file and parses it again if its content changed (by
// hash: a rewrite that keeps the size and time is seen too).
func (f *File) reload() error {
	b, err := os.ReadFile(f.path)
	if err != nil {
		return fmt.Errorf("groups file: %w", err)
	}
	sum := sha256.Sum256(b)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.users != nil && sum == f.sum {
		return f.err
	}
	f.sum = sum
	users, err := parseGroupsFile(f.path, b)
	if err != nil {
		f.err, f.users = err, map[string]Entry{}
		return err
	}
	f.err, f.users = nil, users
	return nil
}

func parseGroupsFile(path string, b []byte) (map[string]Entry, error) {
	var doc fileFormat
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) { // an empty file is no users
		return nil, fmt.Errorf("groups file %s: %w", path, err)
	}
	users := map[string]Entry{}
	add := func(user, group string) error {
		user, group = catalog.FoldName(strings.TrimSpace(user)), catalog.FoldName(strings.TrimSpace(group))
		if user == "" || group == "" {
			return fmt.Errorf("groups file %s: an empty user or group name", path)
		}
		e := users[user]
		e.Found = true
		e.Groups = append(e.Groups, Membership{Group: group})
		users[user] = e
		return nil
	}
	seen := map[string]string{}
	for name, u := range doc.Users {
		key := catalog.FoldName(strings.TrimSpace(name))
		if key == "" {
			return nil, fmt.Errorf("groups file %s: an empty user name", path)
		}
		if other, dup := seen[key]; dup {
			return nil, fmt.Errorf("groups file %s: users %q and %q are the same user; merge them", path, other, name)
		}
		seen[key] = name
		e := users[key]
		e.Found = true
		if len(u.Attributes) > 0 {
			e.Attributes = u.Attributes
		}
		users[key] = e
		for _, g := range u.Groups {
			if err := add(name, g); err != nil {
				return nil, err
			}
		}
	}
	for group, members := range doc.Groups {
		for _, m := range members {
			if err := add(m, group); err != nil {
				return nil, err
			}
		}
	}
	return users, nil
}
