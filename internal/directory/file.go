package directory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
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
// The file is read again when it changes (checked at each lookup, which
// the Resolver's cache makes rare). A file that no longer parses fails
// every lookup until it is fixed: its last good content is not used, since
// the change may have been a removal.
type File struct {
	path string

	mu      sync.Mutex
	modTime time.Time
	size    int64
	users   map[string]Entry
	err     error
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
	return f.users[strings.ToLower(user)], nil
}

// reload reads the file if it changed since it was last read.
func (f *File) reload() error {
	st, err := os.Stat(f.path)
	if err != nil {
		return fmt.Errorf("groups file: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.users != nil && st.ModTime().Equal(f.modTime) && st.Size() == f.size {
		return f.err
	}
	f.modTime, f.size = st.ModTime(), st.Size()
	users, err := parseGroupsFile(f.path)
	if err != nil {
		f.err, f.users = err, map[string]Entry{}
		return err
	}
	f.err, f.users = nil, users
	return nil
}

func parseGroupsFile(path string) (map[string]Entry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("groups file: %w", err)
	}
	var doc fileFormat
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) { // an empty file is no users
		return nil, fmt.Errorf("groups file %s: %w", path, err)
	}
	users := map[string]Entry{}
	add := func(user, group string) error {
		user, group = strings.ToLower(strings.TrimSpace(user)), strings.ToLower(strings.TrimSpace(group))
		if user == "" || group == "" {
			return fmt.Errorf("groups file %s: an empty user or group name", path)
		}
		e := users[user]
		e.Found = true
		e.Groups = append(e.Groups, Membership{Group: group})
		users[user] = e
		return nil
	}
	for name, u := range doc.Users {
		key := strings.ToLower(strings.TrimSpace(name))
		if key == "" {
			return nil, fmt.Errorf("groups file %s: an empty user name", path)
		}
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
