package directory

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// slapd is a real OpenLDAP server started by scripts/slapd.sh for one test,
// loaded with testdata/ldap/directory.ldif.
type slapd struct {
	dir string
	env map[string]string
}

func startSlapd(t *testing.T) *slapd {
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
	script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "slapd.sh")
	s := &slapd{dir: t.TempDir(), env: map[string]string{}}
	out, err := exec.Command(script, "start", s.dir, freePort(t), freePort(t)).CombinedOutput()
	if err != nil {
		t.Fatalf("start slapd: %v\n%s", err, out)
	}
	t.Cleanup(func() { s.stop(t) })
	f, err := os.Open(filepath.Join(s.dir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			s.env[k] = v
		}
	}
	return s
}

func (s *slapd) stop(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "slapd.sh")
	if out, err := exec.Command(script, "stop", s.dir).CombinedOutput(); err != nil {
		t.Errorf("stop slapd: %v\n%s", err, out)
	}
}

// restart starts the stopped server again on the same ports and data.
func (s *slapd) restart(t *testing.T) {
	slapdBin, err := exec.LookPath("slapd")
	if err != nil {
		slapdBin = "/usr/sbin/slapd"
	}
	urls := s.env["LDAP_URL"] + "/ " + s.env["LDAPS_URL"] + "/"
	if out, err := exec.Command(slapdBin, "-f", filepath.Join(s.dir, "slapd.conf"), "-h", urls).CombinedOutput(); err != nil {
		t.Fatalf("restart slapd: %v\n%s", err, out)
	}
}

// modify runs ldapmodify as the directory's root with the LDIF given.
func (s *slapd) modify(t *testing.T, ldif string) {
	t.Helper()
	cmd := exec.Command("ldapmodify", "-x", "-H", s.env["LDAP_URL"], "-D", s.env["LDAP_ROOT_DN"], "-w", s.env["LDAP_ROOT_PASSWORD"])
	cmd.Stdin = strings.NewReader(ldif)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ldapmodify: %v\n%s", err, out)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}
