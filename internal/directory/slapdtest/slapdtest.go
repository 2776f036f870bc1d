// Package slapdtest starts a real OpenLDAP server for tests
// (scripts/slapd.sh), loaded with testdata/ldap/directory.ldif.
package slapdtest

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Server is a real OpenLDAP server started by scripts/slapd.sh for one
// test. Env holds what scripts/slapd.sh wrote to DIR/env: LDAP_URL,
// LDAPS_URL, LDAP_CA, LDAP_BIND_DN, LDAP_BIND_PASSWORD, LDAP_ROOT_DN,
// LDAP_ROOT_PASSWORD.
type Server struct {
	dir string
	Env map[string]string
}

// Start starts a server for t and stops it when t ends. Without slapd it
// skips t, or fails it when LAKEGATE_REQUIRE_SLAPD=1 (make test).
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("slapd"); err != nil {
		if _, err := os.Stat("/usr/sbin/slapd"); err != nil {
			if os.Getenv("LAKEGATE_REQUIRE_SLAPD") == "1" {
				t.Fatal("slapd is not installed (scripts/ensure-slapd.sh installs it)")
			}
			t.Skip("slapd is not installed: scripts/ensure-slapd.sh (make test runs it)")
		}
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "..", "scripts", "slapd.sh")
	s := &Server{dir: t.TempDir(), Env: map[string]string{}}
	out, err := exec.Command(script, "start", s.dir, freePort(t), freePort(t)).CombinedOutput()
	if err != nil {
		t.Fatalf("start slapd: %v\n%s", err, out)
	}
	t.Cleanup(func() { s.Stop(t) })
	f, err := os.Open(filepath.Join(s.dir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			s.Env[k] = v
		}
	}
	return s
}

// Stop stops the server (its data stays for Restart).
func (s *Server) Stop(t testing.TB) {
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "..", "scripts", "slapd.sh")
	if out, err := exec.Command(script, "stop", s.dir).CombinedOutput(); err != nil {
		t.Errorf("stop slapd: %v\n%s", err, out)
	}
}

// Restart starts the stopped server again on the same ports and data.
func (s *Server) Restart(t testing.TB) {
	slapdBin, err := exec.LookPath("slapd")
	if err != nil {
		slapdBin = "/usr/sbin/slapd"
	}
	urls := s.Env["LDAP_URL"] + "/ " + s.Env["LDAPS_URL"] + "/"
	if out, err := exec.Command(slapdBin, "-f", filepath.Join(s.dir, "slapd.conf"), "-h", urls).CombinedOutput(); err != nil {
		t.Fatalf("restart slapd: %v\n%s", err, out)
	}
	// slapd answers once it has bound its ports; it exits if it cannot (a
	// port another process took while it was stopped).
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := exec.Command("ldapsearch", "-x", "-H", s.Env["LDAP_URL"], "-D", s.Env["LDAP_ROOT_DN"], "-w", s.Env["LDAP_ROOT_PASSWORD"],
			"-b", "", "-s", "base").Run()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarted slapd does not answer on %s (its ports may have been taken while it was stopped): %v", s.Env["LDAP_URL"], err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Modify runs ldapmodify as the directory's root with the LDIF given.
func (s *Server) Modify(t testing.TB, ldif string) {
	t.Helper()
	cmd := exec.Command("ldapmodify", "-x", "-H", s.Env["LDAP_URL"], "-D", s.Env["LDAP_ROOT_DN"], "-w", s.Env["LDAP_ROOT_PASSWORD"])
	cmd.Stdin = strings.NewReader(ldif)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ldapmodify: %v\n%s", err, out)
	}
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}
