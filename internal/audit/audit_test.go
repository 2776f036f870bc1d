package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func open(t testing.TB, dir string, opts Options) *Log {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	l, err := Open(dir, opts)
	require.NoError(t, err)
	return l
}

func readAll(t testing.TB, dir string, q Query) []Record {
	t.Helper()
	var out []Record
	require.NoError(t, Read(dir, q, func(r Record) error {
		out = append(out, r)
		return nil
	}))
	return out
}

func sample(i int) Record {
	return Record{
		RequestTime:          time.Date(2026, 11, 28, 12, 0, 0, i*1000, time.UTC),
		RequestID:            fmt.Sprintf("req-%06d", i),
		User:                 "alice",
		Groups:               []string{"analysts", "eu"},
		ClientApplication:    "spark",
		ClientNetworkAddress: "10.0.0.7:51234",
		SessionID:            "0d3f7c1e-5b1a-4c83-9a0e-2f6e4d8b9c01",
		StatementType:        "AUTHORIZE",
		Statement:            "SELECT uid, ccn FROM okera_sample.users WHERE uid < 10 AND dob > '1990-01-01'",
		Objects:              []string{"okera_sample.users"},
		Outcome:              OutcomeAllowed,
		Reason:               "granted by role analyst_role",
		LatencyUS:            int64(120 + i%50),
	}
}

func TestRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	l := open(t, dir, Options{})
	want := []Record{sample(1), sample(2)}
	want[1].Outcome = OutcomeDenied
	want[1].AuthFailure = "token expired"
	want[1].Groups = nil
	for _, r := range want {
		l.Write(r)
	}
	require.NoError(t, l.Flush())
	require.Equal(t, want, readAll(t, dir, Query{}), "readable before Close, after Flush")
	require.NoError(t, l.Close())
	require.Equal(t, want, readAll(t, dir, Query{}))
	require.Zero(t, l.Dropped())

	st, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	st, err = os.Stat(filepath.Join(dir, CurrentFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	// The file is plain JSON lines with the documented names.
	data, err := os.ReadFile(filepath.Join(dir, CurrentFile))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	require.Len(t, lines, 2)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &m))
	require.Equal(t, "2026-11-28T12:00:00.000001Z", m["request_time"])
	require.Equal(t, "req-000001", m["request_id"])
	require.Equal(t, "allowed", m["outcome"])
	require.NotContains(t, m, "auth_failure", "empty optional fields are omitted")
	require.Contains(t, lines[0], "uid < 10", "SQL is not HTML-escaped")
}

func TestWriteNormalizes(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{})
	before := time.Now()
	l.Write(Record{RequestID: "no-time", User: "bob", StatementType: "WHOAMI", Outcome: OutcomeOK})
	paris := time.FixedZone("CET", 3600)
	l.Write(Record{RequestTime: time.Date(2026, 1, 1, 13, 0, 0, 0, paris), RequestID: "zoned", StatementType: "WHOAMI", Outcome: OutcomeOK})
	require.NoError(t, l.Close())
	got := readAll(t, dir, Query{})
	require.Len(t, got, 2)
	require.False(t, got[0].RequestTime.Before(before.Truncate(time.Microsecond)), "zero time is set to now")
	require.Equal(t, time.UTC, got[0].RequestTime.Location())
	require.Equal(t, "2026-01-01T12:00:00Z", got[1].RequestTime.Format(time.RFC3339Nano))
}

func TestUnencodableTimeIsStillRecorded(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{})
	r := sample(0)
	r.RequestTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) // JSON cannot hold it
	l.Write(r)
	require.NoError(t, l.Close())
	got := readAll(t, dir, Query{})
	require.Len(t, got, 1)
	require.Equal(t, r.RequestID, got[0].RequestID)
	require.Contains(t, got[0].Reason, "unencodable record")
	require.Contains(t, got[0].Reason, r.Reason)
}

func TestTruncatesLongStatement(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{})
	long := strings.Repeat("é", 100_000) // 200,000 bytes, two bytes a rune
	l.Write(Record{RequestID: "long", StatementType: "GRANT", Statement: long, Reason: "short", Outcome: OutcomeOK})
	require.NoError(t, l.Close())
	got := readAll(t, dir, Query{})
	require.Len(t, got, 1)
	s := got[0].Statement
	require.LessOrEqual(t, len(s), MaxFieldBytes)
	require.Greater(t, len(s), MaxFieldBytes-100)
	require.True(t, utf8.ValidString(s), "cut at a rune boundary")
	require.Contains(t, s, TruncatedMarker)
	require.True(t, strings.HasPrefix(long, s[:strings.Index(s, TruncatedMarker)]))
	require.True(t, strings.HasSuffix(s, " bytes]"))
	require.Equal(t, "short", got[0].Reason)
}

func TestConcurrentWriters(t *testing.T) {
	const writers, each = 16, 1000
	dir := t.TempDir()
	l := open(t, dir, Options{MaxFileBytes: 256 << 10}) // rotate a few times too
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				r := sample(i)
				r.User = fmt.Sprintf("user%02d", g)
				r.RequestID = fmt.Sprintf("%02d-%04d", g, i)
				l.Write(r)
			}
		})
	}
	wg.Wait()
	require.NoError(t, l.Close())
	require.Zero(t, l.Dropped())

	seen := make(map[string]int)
	last := make(map[string]int) // per writer, its records stay in order
	require.NoError(t, Read(dir, Query{}, func(r Record) error {
		seen[r.RequestID]++
		var g, i int
		_, err := fmt.Sscanf(r.RequestID, "%02d-%04d", &g, &i)
		require.NoError(t, err)
		prev, ok := last[r.User]
		require.True(t, !ok || i == prev+1, "writer %s: %d after %d", r.User, i, prev)
		last[r.User] = i
		return nil
	}))
	require.Len(t, seen, writers*each)
	for id, n := range seen {
		require.Equal(t, 1, n, id)
	}
	rotated, err := listRotated(dir)
	require.NoError(t, err)
	require.NotEmpty(t, rotated)
}

func TestRotationAndPruning(t *testing.T) {
	const max = 4096
	dir := t.TempDir()
	l := open(t, dir, Options{MaxFileBytes: max, MaxFiles: 3})
	const n = 500
	for i := range n {
		l.Write(sample(i))
		if i%37 == 0 {
			require.NoError(t, l.Flush())
		}
	}
	require.NoError(t, l.Close())

	rotated, err := listRotated(dir)
	require.NoError(t, err)
	require.Len(t, rotated, 3, "oldest rotated files are deleted")
	names := []string{}
	for _, rf := range rotated {
		names = append(names, rf.name)
		require.Regexp(t, `^audit-\d{8}T\d{6}\.\d{9}Z\.jsonl$`, rf.name)
	}
	for _, name := range append(names, CurrentFile) {
		st, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		require.LessOrEqual(t, st.Size(), int64(max), name)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	}
	for i := 1; i < len(rotated); i++ {
		require.True(t, rotated[i].t.After(rotated[i-1].t))
	}

	// What is left is the newest records, contiguous and in order.
	got := readAll(t, dir, Query{})
	require.NotEmpty(t, got)
	require.Less(t, len(got), n)
	first := n - len(got)
	for k, r := range got {
		require.Equal(t, sample(first+k).RequestID, r.RequestID)
	}
}

func TestRotationKeepsAll(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{MaxFileBytes: 2048})
	for i := range 200 {
		l.Write(sample(i))
	}
	require.NoError(t, l.Close())
	rotated, err := listRotated(dir)
	require.NoError(t, err)
	require.Greater(t, len(rotated), 10)
	got := readAll(t, dir, Query{})
	require.Len(t, got, 200)
	for i, r := range got {
		require.Equal(t, sample(i).RequestID, r.RequestID)
	}
}

func TestOversizedRecordGetsOwnFile(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{MaxFileBytes: 1024})
	big := sample(1)
	big.Statement = strings.Repeat("x", 5000)
	l.Write(sample(0))
	l.Write(big)
	l.Write(sample(2))
	require.NoError(t, l.Close())
	got := readAll(t, dir, Query{})
	require.Len(t, got, 3)
	rotated, err := listRotated(dir)
	require.NoError(t, err)
	require.Len(t, rotated, 2) // [sample0] [big] current=[sample2]
}

func TestReopenAppends(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{})
	for i := range 10 {
		l.Write(sample(i))
	}
	require.NoError(t, l.Close())

	l = open(t, dir, Options{})
	for i := 10; i < 20; i++ {
		l.Write(sample(i))
	}
	require.NoError(t, l.Close())
	got := readAll(t, dir, Query{})
	require.Len(t, got, 20)
	for i, r := range got {
		require.Equal(t, sample(i).RequestID, r.RequestID)
	}
}

func TestReopenContinuesRotationOrder(t *testing.T) {
	dir := t.TempDir()
	// A rotated file from the future (clock stepped back since): new
	// rotations must still sort after it.
	future := rotatedName(time.Now().Add(time.Hour))
	f, err := os.Create(filepath.Join(dir, future))
	require.NoError(t, err)
	require.NoError(t, json.NewEncoder(f).Encode(sample(0)))
	require.NoError(t, f.Close())

	l := open(t, dir, Options{MaxFileBytes: 1024})
	for i := 1; i < 20; i++ {
		l.Write(sample(i))
	}
	require.NoError(t, l.Close())
	got := readAll(t, dir, Query{})
	require.Len(t, got, 20)
	for i, r := range got {
		require.Equal(t, sample(i).RequestID, r.RequestID)
	}
}

func TestSecondWriterIsRefused(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{})
	_, err := Open(dir, Options{Logger: quiet})
	require.ErrorIs(t, err, ErrLocked)
	require.NoError(t, l.Close())
	l = open(t, dir, Options{}) // released by Close
	require.NoError(t, l.Close())
}

func TestCloseFlushesAndWriteAfterClose(t *testing.T) {
	dir := t.TempDir()
	var logBuf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logBuf}, nil))
	l := open(t, dir, Options{Logger: logger})
	for i := range 1000 {
		l.Write(sample(i))
	}
	require.NoError(t, l.Close()) // no Flush before
	require.Len(t, readAll(t, dir, Query{}), 1000)
	require.Zero(t, l.Dropped())

	l.Write(sample(1000))
	l.Write(sample(1001))
	require.Equal(t, uint64(2), l.Dropped(), "a record written after Close is counted as lost")
	require.ErrorIs(t, l.Flush(), ErrClosed)
	require.NoError(t, l.Close(), "Close is idempotent")
	require.Len(t, readAll(t, dir, Query{}), 1000)
	mu.Lock()
	require.Equal(t, 1, strings.Count(logBuf.String(), "after Close"), "logged once")
	mu.Unlock()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func TestCloseRacesWithWriters(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := sample(i)
				r.RequestID = fmt.Sprintf("%d-%d", g, i)
				l.Write(r)
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, l.Close())
	close(stop)
	wg.Wait()
	// Every Write either reached the file or was counted as dropped.
	n := len(readAll(t, dir, Query{}))
	require.Positive(t, n)
}

func TestFlushesWithoutFlushCall(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{})
	defer l.Close()
	l.Write(sample(1))
	require.Eventually(t, func() bool {
		var n int
		_ = Read(dir, Query{}, func(Record) error { n++; return nil })
		return n == 1
	}, 2*time.Second, 10*time.Millisecond, "the background writer writes when its queue empties")
}

func TestQueryFilters(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{MaxFileBytes: 1500})
	base := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	for i := range 60 {
		r := sample(i)
		r.RequestTime = base.Add(time.Duration(i) * time.Minute)
		r.User = []string{"alice", "bob", "carol"}[i%3]
		if i%4 == 0 {
			r.Outcome = OutcomeDenied
		}
		l.Write(r)
	}
	require.NoError(t, l.Close())

	ids := func(q Query) []string {
		var out []string
		for _, r := range readAll(t, dir, q) {
			out = append(out, r.RequestID)
		}
		return out
	}
	idsOf := func(keep func(i int) bool) []string {
		var out []string
		for i := range 60 {
			if keep(i) {
				out = append(out, sample(i).RequestID)
			}
		}
		return out
	}
	require.Equal(t, idsOf(func(int) bool { return true }), ids(Query{}))
	require.Equal(t, idsOf(func(i int) bool { return i%3 == 1 }), ids(Query{User: "bob"}))
	require.Equal(t, idsOf(func(i int) bool { return i%4 == 0 }), ids(Query{DeniedOnly: true}))
	require.Equal(t, idsOf(func(i int) bool { return i >= 45 }), ids(Query{Since: base.Add(45 * time.Minute)}))
	require.Equal(t, idsOf(func(i int) bool { return i >= 30 && i%3 == 0 && i%4 == 0 }),
		ids(Query{User: "alice", DeniedOnly: true, Since: base.Add(30 * time.Minute)}))
	require.Equal(t, idsOf(func(i int) bool { return i < 5 }), ids(Query{Limit: 5}))
	require.Equal(t, idsOf(func(i int) bool { return i%3 == 2 })[:4], ids(Query{User: "carol", Limit: 4}))
	require.Empty(t, ids(Query{User: "mallory"}))

	// fn's error stops Read and is returned as is.
	boom := errors.New("boom")
	n := 0
	err := Read(dir, Query{}, func(Record) error {
		n++
		if n == 3 {
			return boom
		}
		return nil
	})
	require.Same(t, boom, err)
	require.Equal(t, 3, n)
}

func TestTornLastLine(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{})
	for i := range 5 {
		l.Write(sample(i))
	}
	require.NoError(t, l.Close())
	path := filepath.Join(dir, CurrentFile)
	good, err := os.ReadFile(path)
	require.NoError(t, err)

	// A crash in the middle of the sixth record.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"request_time":"2026-11-28T12:00:00.000006Z","request_id":"req-0000`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	var got []Record
	err = Read(dir, Query{}, func(r Record) error { got = append(got, r); return nil })
	require.ErrorIs(t, err, ErrTornLine)
	var torn *TornLinesError
	require.ErrorAs(t, err, &torn)
	require.Equal(t, 1, torn.Lines)
	require.Equal(t, []string{CurrentFile}, torn.Files)
	require.Len(t, got, 5, "everything before the torn line is delivered")

	// Reopening repairs the file: the torn bytes are cut, appends go on.
	l = open(t, dir, Options{})
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, good, data)
	l.Write(sample(5))
	require.NoError(t, l.Close())
	got = readAll(t, dir, Query{})
	require.Len(t, got, 6)
	require.Equal(t, "req-000005", got[5].RequestID)
}

func TestTornTailThatIsCompleteRecordIsKept(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, CurrentFile)
	line, err := json.Marshal(sample(0))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, line, 0o600)) // no newline
	require.Len(t, readAll(t, dir, Query{}), 1, "a complete last record without newline is read")

	l := open(t, dir, Options{})
	l.Write(sample(1))
	require.NoError(t, l.Close())
	got := readAll(t, dir, Query{})
	require.Len(t, got, 2)
	require.Equal(t, "req-000001", got[1].RequestID)
}

func TestTornGarbageWithoutAnyNewline(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, CurrentFile)
	require.NoError(t, os.WriteFile(path, make([]byte, 10_000), 0o600)) // zeros after a crash
	l := open(t, dir, Options{})
	l.Write(sample(1))
	require.NoError(t, l.Close())
	require.Len(t, readAll(t, dir, Query{}), 1)
}

func TestCorruptMiddleLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, CurrentFile)
	a, _ := json.Marshal(sample(0))
	b, _ := json.Marshal(sample(2))
	content := string(a) + "\n{not json}\n" + string(b) + "\n"
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	n := 0
	err := Read(dir, Query{}, func(Record) error { n++; return nil })
	require.ErrorIs(t, err, ErrCorrupt)
	require.Contains(t, err.Error(), "line 2")
	require.Equal(t, 1, n)
}

func TestReadLongLines(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{})
	r := sample(0)
	r.Statement = strings.Repeat("s", MaxFieldBytes)
	r.Reason = strings.Repeat("r", MaxFieldBytes)
	for i := range 300 {
		r.Objects = append(r.Objects, fmt.Sprintf("db%03d.table_with_a_long_name_%03d", i, i))
	}
	l.Write(r)
	l.Write(sample(1))
	require.NoError(t, l.Close())
	got := readAll(t, dir, Query{})
	require.Len(t, got, 2)
	require.Equal(t, r, got[0])
}

func TestReadWhileRotating(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{MaxFileBytes: 4096})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 3000 {
			l.Write(sample(i))
		}
	}()
	for {
		select {
		case <-done:
			require.NoError(t, l.Close())
			require.Len(t, readAll(t, dir, Query{}), 3000)
			return
		default:
		}
		prev := -1
		err := Read(dir, Query{}, func(r Record) error {
			var i int
			_, err := fmt.Sscanf(r.RequestID, "req-%06d", &i)
			require.NoError(t, err)
			require.Equal(t, prev+1, i, "no gap and no duplicate while files rotate")
			prev = i
			return nil
		})
		if err != nil {
			require.ErrorIs(t, err, ErrTornLine)
		}
	}
}

// TestDiskFailureKeepsRecords writes to /dev/full (every write fails with
// ENOSPC), then to the real file: nothing is lost and the file is intact.
func TestDiskFailureKeepsRecords(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full here")
	}
	dir := t.TempDir()
	w, err := openWriter(dir, Options{MaxFileBytes: DefaultMaxFileBytes}, quiet)
	require.NoError(t, err)
	real := w.f
	w.f = full
	for i := range 10 {
		b := encode(ptr(sample(i)))
		w.add(b.Bytes())
	}
	require.Error(t, w.writeOut())
	require.True(t, w.failing())
	require.Error(t, w.sync())
	w.f = real
	full.Close()
	require.NoError(t, w.sync())
	require.False(t, w.failing())
	lost, err := w.close()
	require.NoError(t, err)
	require.Zero(t, lost)
	require.Len(t, readAll(t, dir, Query{}), 10)
}

// Records the disk will not take by the time the log closes are not
// dropped: Close retries for CloseRetry, then writes each, whole, to the
// process log.
func TestCloseOnFailedDiskKeepsRecordsInTheProcessLog(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full here")
	}
	l, logged, _ := failingLog(t, func(real *os.File) file { real.Close(); return full })
	for i := range 25 {
		l.Write(sample(i))
	}
	require.Error(t, l.Flush(), "Flush reports the failing disk")
	require.Error(t, l.Close())
	require.Zero(t, l.Dropped())
	require.Equal(t, uint64(25), l.Spilled())
	got := spilledRecords(t, logged.Bytes())
	require.Len(t, got, 25)
	for i, r := range got {
		require.Equal(t, sample(i).RequestID, r.RequestID)
	}
}

// A short write leaves part of a record in the file; the record stays whole
// in the writer until it is all written, so what Close hands over is whole
// records, and the next Open removes the torn head from the file.
func TestShortWriteKeepsTheRecordWhole(t *testing.T) {
	first := encode(ptr(sample(0))).Bytes()
	l, logged, dir := failingLog(t, func(real *os.File) file {
		return &shortFile{f: real, room: len(first) + 17} // the first record, then 17 bytes of the second
	})
	for i := range 3 {
		l.Write(sample(i))
	}
	require.Error(t, l.Flush())
	require.Error(t, l.Close())
	got := spilledRecords(t, logged.Bytes())
	require.Len(t, got, 2, "the second record (17 bytes of it on disk) and the third")
	require.Equal(t, []string{"req-000001", "req-000002"}, []string{got[0].RequestID, got[1].RequestID})

	l2, err := Open(dir, Options{Logger: quiet})
	require.NoError(t, err)
	require.NoError(t, l2.Close())
	recs := readAll(t, dir, Query{})
	require.Len(t, recs, 1, "the torn head of the second record is removed at the next Open")
	require.Equal(t, "req-000000", recs[0].RequestID)
}

// shortFile takes room bytes, then fails every write with ENOSPC.
type shortFile struct {
	f    *os.File
	room int
}

func (s *shortFile) Write(p []byte) (int, error) {
	n := min(len(p), s.room)
	n, err := s.f.Write(p[:n])
	s.room -= n
	if err == nil && n < len(p) {
		err = syscall.ENOSPC
	}
	return n, err
}
func (s *shortFile) Sync() error  { return s.f.Sync() }
func (s *shortFile) Close() error { return s.f.Close() }

// failingLog starts a Log in a new directory whose audit file is
// swap(the real file), logging (JSON) to the returned buffer, retrying a
// failing disk at Close for 200 ms only.
func failingLog(t *testing.T, swap func(*os.File) file) (*Log, *bytes.Buffer, string) {
	t.Helper()
	dir := t.TempDir()
	logged := &bytes.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logged, nil))
	w, err := openWriter(dir, Options{MaxFileBytes: DefaultMaxFileBytes}, logger)
	require.NoError(t, err)
	w.f = swap(w.f.(*os.File))
	l := start(dir, logger, w, func() {})
	l.closeRetry = 200 * time.Millisecond
	return l, logged, dir
}

// spilledRecords are the audit records a JSON process log holds.
func spilledRecords(t *testing.T, log []byte) []Record {
	t.Helper()
	var out []Record
	for line := range bytes.Lines(log) {
		var entry struct{ Record string }
		require.NoError(t, json.Unmarshal(line, &entry))
		if entry.Record == "" {
			continue
		}
		var r Record
		require.NoError(t, json.Unmarshal([]byte(entry.Record), &r), entry.Record)
		out = append(out, r)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func BenchmarkWrite(b *testing.B) {
	dir := b.TempDir()
	l := open(b, dir, Options{})
	r := sample(1)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		l.Write(r)
	}
	require.NoError(b, l.Flush())
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.StopTimer()
	require.NoError(b, l.Close())
}

func BenchmarkWriteParallel(b *testing.B) {
	dir := b.TempDir()
	l := open(b, dir, Options{})
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := sample(1)
		for pb.Next() {
			l.Write(r)
		}
	})
	require.NoError(b, l.Flush())
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.StopTimer()
	require.NoError(b, l.Close())
}

// Retention: rotated files beyond MaxFiles, or older than MaxAge, are
// deleted when the log opens (and at each rotation).
func TestRetentionByCountAndAge(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC()
	var names []string
	for _, age := range []time.Duration{96 * time.Hour, 72 * time.Hour, 3 * time.Hour, 2 * time.Hour, time.Hour} {
		n := rotatedName(now.Add(-age))
		names = append(names, n)
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte("{}\n"), 0o600))
	}
	l, err := Open(dir, Options{MaxFiles: 4, MaxAge: 48 * time.Hour})
	require.NoError(t, err)
	require.NoError(t, l.Close())
	left, err := listRotated(dir)
	require.NoError(t, err)
	var got []string
	for _, rf := range left {
		got = append(got, rf.name)
	}
	require.Equal(t, names[2:], got, "the oldest beyond 4 files and every file older than 48 h are gone")
}

// A short write that stops just before a record's newline leaves the whole
// record on disk (the next Open completes it): it is not also handed to the
// process log.
func TestShortWriteBeforeTheNewlineIsNotDuplicated(t *testing.T) {
	first := encode(ptr(sample(0))).Bytes()
	second := encode(ptr(sample(1))).Bytes()
	l, logged, dir := failingLog(t, func(real *os.File) file {
		return &shortFile{f: real, room: len(first) + len(second) - 1}
	})
	for i := range 3 {
		l.Write(sample(i))
	}
	require.Error(t, l.Flush())
	require.Error(t, l.Close())
	var spilled []string
	for _, r := range spilledRecords(t, logged.Bytes()) {
		spilled = append(spilled, r.RequestID)
	}
	l2, err := Open(dir, Options{Logger: quiet})
	require.NoError(t, err)
	require.NoError(t, l2.Close())
	var inFile []string
	for _, r := range readAll(t, dir, Query{}) {
		inFile = append(inFile, r.RequestID)
	}
	require.Equal(t, []string{"req-000002"}, spilled)
	require.Equal(t, []string{"req-000000", "req-000001"}, inFile)
}

// syncFails writes but fails every fsync, as a disk whose writeback fails.
type syncFails struct{ f *os.File }

func (s *syncFails) Write(p []byte) (int, error) { return s.f.Write(p) }
func (s *syncFails) Sync() error                 { return syscall.EIO }
func (s *syncFails) Close() error                { return s.f.Close() }

// When the last fsync fails, nothing written since the last good one is
// known to be on disk: those records go to the process log too (they may
// be in the file as well: at least once).
func TestFailedFsyncAtCloseKeepsTheRecords(t *testing.T) {
	l, logged, _ := failingLog(t, func(real *os.File) file { return &syncFails{f: real} })
	for i := range 5 {
		l.Write(sample(i))
	}
	require.ErrorIs(t, l.Close(), syscall.EIO)
	require.Equal(t, uint64(5), l.Spilled())
	require.Len(t, spilledRecords(t, logged.Bytes()), 5)
}

// What was written but not fsync'd stays bounded: past maxUnsynced the
// writer fsyncs, so the copy kept for a failing fsync stays small.
func TestUnsyncedBytesAreBounded(t *testing.T) {
	w, err := openWriter(t.TempDir(), Options{MaxFileBytes: DefaultMaxFileBytes}, quiet)
	require.NoError(t, err)
	defer w.close()
	rec := encode(ptr(sample(1))).Bytes()
	for range 2 * maxUnsynced / len(rec) {
		w.add(rec)
		if len(w.buf) >= batchBytes {
			require.NoError(t, w.writeOut())
		}
		require.LessOrEqual(t, len(w.written), maxUnsynced+batchBytes)
	}
	require.NoError(t, w.writeOut())
	require.Less(t, len(w.written), maxUnsynced+len(rec), "an fsync emptied it on the way")
}
