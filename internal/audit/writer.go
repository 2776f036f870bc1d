package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lakegate/lakegate/internal/durable"
)

// rotatedLayout is the time part of a rotated file's name, always UTC and
// fixed width so that names sort in time order.
const rotatedLayout = "20060102T150405.000000000Z"

const (
	rotatedPrefix = "audit-"
	rotatedSuffix = ".jsonl"
	// errLogEvery limits how often a persisting disk error is logged again.
	errLogEvery = 10 * time.Second
	// rotateRetry is how long the writer waits before retrying a failed rename.
	rotateRetry = 10 * time.Second
)

// writer owns the files; only the background goroutine uses it.
type writer struct {
	dir      string
	path     string
	maxBytes int64
	maxFiles int
	maxAge   time.Duration
	log      *slog.Logger
	// state publishes the current write failure (nil: healthy) to Log.Failing.
	state atomic.Pointer[error]

	f    file
	size int64 // bytes of f already written
	// buf holds the encoded records not yet written in full; the first
	// partial bytes of them (after a short write) are already in the file.
	// A record leaves buf only once it is all written, so the records
	// still held at the end are whole (Log.finish).
	buf      []byte
	partial  int
	unsynced bool
	// written holds the bytes written since the last successful fsync
	// (starting at a record's start), so that records a failing fsync may
	// have lost are still at hand at Close. It is kept under maxUnsynced
	// by an fsync.
	written []byte

	lastWrite     time.Time
	lastRotated   time.Time // time in the newest rotated file's name
	noRotateUntil time.Time

	err       error // the last write error while the disk fails, else nil
	errLogged time.Time
}

func openWriter(dir string, opts Options, logger *slog.Logger) (*writer, error) {
	w := &writer{
		dir:       dir,
		path:      filepath.Join(dir, CurrentFile),
		maxBytes:  opts.MaxFileBytes,
		maxFiles:  opts.MaxFiles,
		maxAge:    opts.MaxAge,
		log:       logger,
		buf:       make([]byte, 0, batchBytes+batchBytes/4),
		lastWrite: time.Now(),
	}
	if err := repairTail(w.path, logger); err != nil {
		return nil, err
	}
	_, statErr := os.Stat(w.path)
	f, err := openCurrent(w.path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: %w", err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		durable.SyncDir(dir)
	}
	w.f, w.size = f, st.Size()
	rotated, err := listRotated(dir)
	if err != nil {
		f.Close()
		return nil, err
	}
	if n := len(rotated); n > 0 {
		w.lastRotated = rotated[n-1].t
	}
	w.prune(rotated)
	return w, nil
}

func openCurrent(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	return f, nil
}

func (w *writer) failing() bool { return w.err != nil }

// add queues one encoded record, rotating first if it would not fit.
func (w *writer) add(rec []byte) {
	used := w.size + int64(len(w.buf))
	if used > 0 && used+int64(len(rec)) > w.maxBytes && !w.failing() && !time.Now().Before(w.noRotateUntil) {
		w.rotate()
	}
	w.buf = append(w.buf, rec...)
}

// writeOut hands the pending bytes to the operating system. After a short
// write the rest stays queued and the next call resumes where it stopped.
func (w *writer) writeOut() error {
	w.lastWrite = time.Now()
	if len(w.buf) == w.partial {
		return w.err
	}
	n, err := w.f.Write(w.buf[w.partial:])
	if n > 0 {
		w.size += int64(n)
		w.unsynced = true
		w.written = append(w.written, w.buf[w.partial:w.partial+n]...)
		written := w.partial + n
		whole := bytes.LastIndexByte(w.buf[:written], '\n') + 1 // records written in full
		w.buf = w.buf[:copy(w.buf, w.buf[whole:])]
		w.partial = written - whole
	}
	if cap(w.buf) > 4*batchBytes && len(w.buf) < batchBytes {
		w.buf = append(make([]byte, 0, batchBytes+batchBytes/4), w.buf...) // give back a backlog's memory
	}
	if err != nil {
		w.fail(err)
		return err
	}
	if len(w.written) > maxUnsynced {
		if err := w.fsync(); err != nil {
			return err
		}
	}
	w.recovered()
	return nil
}

// fsync makes what was written durable.
func (w *writer) fsync() error {
	if err := w.f.Sync(); err != nil {
		w.fail(err)
		return fmt.Errorf("audit: fsync: %w", err)
	}
	w.unsynced = false
	w.written = append(w.written[:0], w.buf[:w.partial]...) // the head of a record written in part
	return nil
}

// sync writes everything pending and fsyncs the current file.
func (w *writer) sync() error {
	if err := w.writeOut(); err != nil {
		return fmt.Errorf("audit: write: %w", err)
	}
	if !w.unsynced {
		return nil
	}
	return w.fsync()
}

func (w *writer) fail(err error) {
	if w.err == nil || time.Since(w.errLogged) >= errLogEvery {
		w.log.Error("audit log write failed; keeping the records and retrying",
			"file", w.path, "pending_bytes", len(w.buf), "err", err)
		w.errLogged = time.Now()
	}
	w.err = err
	w.state.Store(&err)
}

func (w *writer) recovered() {
	if w.err != nil {
		w.log.Warn("audit log writes recovered", "file", w.path)
		w.err = nil
		w.state.Store(nil)
	}
}

// rotate moves audit.jsonl aside under its rotation time and starts a new
// one. On failure it logs, keeps writing to the current file and does not
// try again for rotateRetry.
func (w *writer) rotate() {
	if err := w.sync(); err != nil {
		return // logged by fail
	}
	t := time.Now().UTC()
	if !t.After(w.lastRotated) {
		t = w.lastRotated.Add(time.Nanosecond) // names stay unique and ordered if the clock steps back
	}
	target := filepath.Join(w.dir, rotatedName(t))
	for {
		if _, err := os.Lstat(target); errors.Is(err, fs.ErrNotExist) {
			break
		}
		t = t.Add(time.Nanosecond)
		target = filepath.Join(w.dir, rotatedName(t))
	}
	if err := os.Rename(w.path, target); err != nil {
		w.log.Error("audit log rotation failed; still writing to the current file", "err", err)
		w.noRotateUntil = time.Now().Add(rotateRetry)
		return
	}
	nf, err := openCurrent(w.path)
	if err != nil {
		w.log.Error("audit log rotation failed; still writing to the current file", "err", err)
		if err2 := os.Rename(target, w.path); err2 != nil {
			w.log.Error("audit log: cannot move the rotated file back; writing to it", "file", target, "err", err2)
		}
		w.noRotateUntil = time.Now().Add(rotateRetry)
		return
	}
	old := w.f
	w.f, w.size, w.unsynced = nf, 0, false
	if err := old.Close(); err != nil {
		w.log.Warn("audit log: closing rotated file", "file", target, "err", err)
	}
	durable.SyncDir(w.dir)
	w.lastRotated = t
	if rotated, err := listRotated(w.dir); err != nil {
		w.log.Error("audit log: listing rotated files", "err", err)
	} else {
		w.prune(rotated)
	}
}

// prune deletes the oldest rotated files beyond maxFiles, and those rotated
// longer than maxAge ago.
func (w *writer) prune(rotated []rotatedFile) {
	excess := 0
	if w.maxFiles > 0 && len(rotated) > w.maxFiles {
		excess = len(rotated) - w.maxFiles
	}
	now := time.Now()
	deleted := false
	for i, rf := range rotated { // oldest first
		tooOld := w.maxAge > 0 && now.Sub(rf.t) > w.maxAge
		if i >= excess && !tooOld {
			continue
		}
		if err := os.Remove(filepath.Join(w.dir, rf.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			w.log.Error("audit log: deleting old rotated file", "file", rf.name, "err", err)
			continue
		}
		deleted = true
		w.log.Info("audit log: deleted old rotated file", "file", rf.name, "max_files", w.maxFiles, "max_age", w.maxAge.String())
	}
	if deleted {
		durable.SyncDir(w.dir)
	}
}

// close writes, fsyncs and closes the current file. It returns the records
// that are not known to be on disk (whole, one per line) and why: those it
// could not write and, if the fsync failed, those written since the last
// good one (which may be on disk too: at least once). A record written all
// but its newline is on disk (the next Open completes it) and not returned.
func (w *writer) close() (unwritten []byte, err error) {
	werr := w.writeOut()
	var serr error
	if w.unsynced {
		serr = w.fsync()
	}
	cerr := w.f.Close()
	err = errors.Join(werr, serr, cerr)
	if serr != nil {
		return append(w.written, w.buf[w.partial:]...), err
	}
	rest := w.buf
	if w.partial > 0 && w.partial == bytes.IndexByte(rest, '\n') {
		rest = rest[w.partial+1:]
	}
	if len(rest) == 0 {
		return nil, err
	}
	return rest, err
}

// file is what the writer needs of the current audit file (an *os.File;
// tests substitute failing ones).
type file interface {
	Write(p []byte) (int, error)
	Sync() error
	Close() error
}

func rotatedName(t time.Time) string {
	return rotatedPrefix + t.UTC().Format(rotatedLayout) + rotatedSuffix
}

type rotatedFile struct {
	name string
	t    time.Time
}

// listRotated returns the rotated files of dir, oldest first.
func listRotated(dir string) ([]rotatedFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	var out []rotatedFile
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, rotatedPrefix) || !strings.HasSuffix(name, rotatedSuffix) {
			continue
		}
		ts := strings.TrimSuffix(strings.TrimPrefix(name, rotatedPrefix), rotatedSuffix)
		t, err := time.Parse(rotatedLayout, ts)
		if err != nil {
			continue
		}
		out = append(out, rotatedFile{name: name, t: t})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// repairTail fixes a torn last line left by a crash: a tail that is one
// complete record gets its newline, anything else is cut off.
func repairTail(path string, logger *slog.Logger) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("audit: open %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	size := st.Size()
	if size == 0 {
		return nil
	}
	start, err := lastLineStart(f, size)
	if err != nil {
		return fmt.Errorf("audit: read %s: %w", path, err)
	}
	if start == size {
		return nil // ends with a newline
	}
	tail := io.NewSectionReader(f, start, size-start)
	if isOneRecord(tail) {
		if _, err := f.WriteAt([]byte{'\n'}, size); err != nil {
			return fmt.Errorf("audit: repair %s: %w", path, err)
		}
		logger.Warn("audit log: last record had no newline after a crash; completed it", "file", path)
	} else {
		if err := f.Truncate(start); err != nil {
			return fmt.Errorf("audit: repair %s: %w", path, err)
		}
		logger.Warn("audit log: removed a torn last line left by a crash",
			"file", path, "offset", start, "bytes", size-start)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("audit: repair %s: %w", path, err)
	}
	return nil
}

// lastLineStart returns the offset just after the last newline of f (0 if
// there is none).
func lastLineStart(f *os.File, size int64) (int64, error) {
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	end := size
	for end > 0 {
		n := int64(chunk)
		if end < n {
			n = end
		}
		if _, err := f.ReadAt(buf[:n], end-n); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return end - n + int64(i) + 1, nil
		}
		end -= n
	}
	return 0, nil
}

// isOneRecord reports whether r holds exactly one JSON object that decodes
// as a Record.
func isOneRecord(r io.Reader) bool {
	dec := json.NewDecoder(r)
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return false
	}
	_, err := parseRecord(raw)
	return err == nil
}
