// Package crashtest runs crash tests: the test binary runs again as a
// child that makes durable changes one after another and prints "ACK KEY
// VERSION" once each is acknowledged; the parent SIGKILLs it in the middle
// and then checks that everything acknowledged survived.
package crashtest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// Ack prints the line the parent reads: one write(2), so once the parent
// has read it, the change it reports had been acknowledged.
func Ack(key string, version int64) { fmt.Printf("ACK %s %d\n", key, version) }

// Fail reports a child's failure to the parent and exits.
func Fail(format string, args ...any) {
	fmt.Printf("ERROR "+format+"\n", args...)
	os.Exit(2)
}

// KillAfter runs the test named child (its body must call Ack for each
// acknowledged change) in a child process with env added, SIGKILLs it once
// it acknowledged killAfter changes, and returns every acknowledged key with
// its version (more than killAfter may have been read).
func KillAfter(t *testing.T, child string, env []string, killAfter int) map[string]int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+child+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]int64{}
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "ERROR") {
			_ = cmd.Process.Kill()
			t.Fatalf("child: %s", line)
		}
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "ACK" {
			continue // the test framework's own output
		}
		v, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			t.Fatalf("child printed %q", line)
		}
		acked[f[1]] = v
		if len(acked) >= killAfter && !killed {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("the child ended after %d acknowledged changes (%v) before it was killed", len(acked), err)
	}
	t.Logf("killed the child after %d acknowledged changes (%d read in all): %v", killAfter, len(acked), err)
	return acked
}
