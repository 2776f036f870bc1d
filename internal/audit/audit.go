package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Record is one line of the audit log.
type Record struct {
	RequestTime          time.Time `json:"request_time"` // UTC, RFC3339Nano
	RequestID            string    `json:"request_id"`
	User                 string    `json:"user"`
	Groups               []string  `json:"groups,omitempty"`
	ClientApplication    string    `json:"client_application,omitempty"`
	ClientNetworkAddress string    `json:"client_network_address,omitempty"`
	SessionID            string    `json:"session_id,omitempty"`
	StatementType        string    `json:"statement_type"` // e.g. AUTHORIZE, GRANT, CREATE ROLE, WHOAMI, AUTHENTICATE
	Statement            string    `json:"statement,omitempty"`
	Objects              []string  `json:"objects,omitempty"`
	Outcome              string    `json:"outcome"` // allowed | denied | error | ok
	Reason               string    `json:"reason,omitempty"`
	AuthFailure          string    `json:"auth_failure,omitempty"`
	LatencyUS            int64     `json:"latency_us"`
}

// Values of Record.Outcome.
const (
	OutcomeAllowed = "allowed" // an authorization decision that allowed access
	OutcomeDenied  = "denied"  // an authorization decision that denied access, or a failed authentication
	OutcomeError   = "error"   // the request failed for another reason
	OutcomeOK      = "ok"      // a statement (DDL, SHOW, WHOAMI) that succeeded
)

// MaxFieldBytes bounds the free-text fields of a record (Statement, Reason,
// AuthFailure); longer values are cut at a UTF-8 boundary and end with
// TruncatedMarker followed by the number of bytes removed.
const MaxFieldBytes = 64 << 10

// TruncatedMarker starts the suffix that replaces the end of a truncated field.
const TruncatedMarker = "…[truncated "

// Defaults for Options.
const (
	DefaultMaxFileBytes = 64 << 20
	// FlushInterval is the longest a written record waits in memory before
	// it is handed to the operating system.
	FlushInterval = 200 * time.Millisecond
)

// File names inside the audit directory.
const (
	CurrentFile = "audit.jsonl"
	lockFile    = "audit.lock"
)

const (
	queueLen = 4096 // records waiting for the writer
	// maxUnsynced bounds the audit bytes written but not yet fsync'd: the
	// writer fsyncs when it is reached (a few times a second at the
	// heaviest load), so a machine crash loses at most this much.
	maxUnsynced = 4 << 20
	batchBytes  = 256 << 10 // the writer writes when this much is pending
	maxBacklog  = 8 << 20   // while the disk fails, stop taking records past this
	maxPooled   = 256 << 10 // encode buffers larger than this are not reused
)

// ErrClosed is returned by Flush after Close.
var ErrClosed = errors.New("audit: log is closed")

// ErrLocked is returned by Open when another process writes to the directory.
var ErrLocked = errors.New("audit: directory is in use by another process")

// Options tune a Log. The zero value is usable.
type Options struct {
	// MaxFileBytes is the size at which audit.jsonl is rotated
	// (default DefaultMaxFileBytes). A single record larger than this gets
	// a file of its own.
	MaxFileBytes int64
	// MaxFiles is how many rotated files are kept; the oldest are deleted
	// first. 0 keeps all of them.
	MaxFiles int
	// MaxAge deletes rotated files rotated longer ago than this (checked at
	// each rotation and at Open). 0 keeps them whatever their age.
	MaxAge time.Duration
	// Logger receives the log's own errors and warnings (default
	// slog.Default()), and the records Close could not write to disk.
	Logger *slog.Logger
	// CloseRetry is how long Close keeps retrying a failing disk before it
	// writes the records it still holds to Logger (default
	// DefaultCloseRetry).
	CloseRetry time.Duration
}

// DefaultCloseRetry is Options.CloseRetry's default.
const DefaultCloseRetry = 5 * time.Second

// closeRetryEvery is how often Close retries a failing disk.
const closeRetryEvery = 100 * time.Millisecond

// Log is an open audit log. Its methods are safe for concurrent use.
type Log struct {
	dir    string
	logger *slog.Logger

	mu      sync.RWMutex // write-locked only by Close, to close ch
	closed  bool
	ch      chan *bytes.Buffer
	flushCh chan chan error
	closing chan struct{} // closed when Close starts
	done    chan struct{} // closed when the writer has stopped
	w       *writer       // touched only by run, except its atomic state (Failing)

	closeOnce sync.Once
	closeErr  error
	warned    atomic.Bool
	dropped   atomic.Uint64
	spilled   atomic.Uint64
	// closeRetry is how long Close keeps retrying a failing disk.
	closeRetry time.Duration

	unlock func()
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Open opens (creating it if needed) the audit log in dir and starts its
// background writer. An existing audit.jsonl is appended to; a torn last line
// left by a crash is repaired first (see the package documentation).
func Open(dir string, opts Options) (*Log, error) {
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = DefaultMaxFileBytes
	}
	if opts.MaxFiles < 0 {
		opts.MaxFiles = 0
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("component", "audit")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: create directory: %w", err)
	}
	unlock, err := lockDir(filepath.Join(dir, lockFile))
	if err != nil {
		return nil, err
	}
	w, err := openWriter(dir, opts, logger)
	if err != nil {
		unlock()
		return nil, err
	}
	l := start(dir, logger, w, unlock)
	if opts.CloseRetry > 0 {
		l.closeRetry = opts.CloseRetry
	}
	return l, nil
}

// Lock takes the lock a running Log holds on dir (ErrLocked while a
// process, such as a planner, writes there), for maintenance that must not
// run beside it; call the returned function to release it.
func Lock(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: create directory: %w", err)
	}
	return lockDir(filepath.Join(dir, lockFile))
}

// start runs the background writer over w.
func start(dir string, logger *slog.Logger, w *writer, unlock func()) *Log {
	l := &Log{
		dir:     dir,
		logger:  logger,
		ch:      make(chan *bytes.Buffer, queueLen),
		flushCh: make(chan chan error),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
		unlock:  unlock,
		w:       w,

		closeRetry: DefaultCloseRetry,
	}
	go l.run(w)
	return l
}

// Dir is the directory the log writes to.
func (l *Log) Dir() string { return l.dir }

// Write appends r to the log. It encodes r at once (the caller may reuse r's
// slices afterwards) and returns as soon as the background writer has taken
// it; when the writer is behind, Write waits rather than dropping the record.
// A zero RequestTime is set to the current time; the time is stored in UTC.
// Write after Close does nothing except count the record as dropped and log
// (once) that it happened.
func (l *Log) Write(r Record) {
	buf := encode(&r)
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		putBuf(buf)
		l.dropped.Add(1)
		if l.warned.CompareAndSwap(false, true) {
			l.logger.Error("audit record written after Close; it is lost",
				"statement_type", r.StatementType, "user", r.User, "request_id", r.RequestID)
		}
		return
	}
	l.ch <- buf
	l.mu.RUnlock()
}

// Flush returns once every record whose Write returned before Flush was
// called has been written and fsynced, or with the error that prevented it.
func (l *Log) Flush() error {
	reply := make(chan error, 1)
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrClosed
	}
	l.flushCh <- reply
	l.mu.RUnlock()
	return <-reply
}

// Close flushes and fsyncs everything written, stops the writer and releases
// the directory. It returns the first error that prevented records from
// reaching the disk (those records are counted by Dropped). Calling Close
// again returns the same result.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		close(l.closing) // the writer now takes every record, even if the disk fails
		l.mu.Lock()
		l.closed = true
		close(l.ch)
		l.mu.Unlock()
		<-l.done
		l.unlock()
	})
	return l.closeErr
}

// Failing returns the error the writer last failed with while it keeps
// failing (the disk is full, read-only, …), or nil while records reach the
// disk. The writer retries on its own; Failing turns nil again when a write
// succeeds. The planner refuses to decide while it is not nil.
func (l *Log) Failing() error {
	if p := l.w.state.Load(); p != nil {
		return *p
	}
	return nil
}

// Dropped is the number of records that were lost: written after Close.
func (l *Log) Dropped() uint64 { return l.dropped.Load() }

// Spilled is the number of records Close could not write to the audit
// file (the disk kept failing) and wrote to the process log instead.
func (l *Log) Spilled() uint64 { return l.spilled.Load() }

func encode(r *Record) *bytes.Buffer {
	if r.RequestTime.IsZero() {
		r.RequestTime = time.Now()
	}
	r.RequestTime = r.RequestTime.UTC()
	r.Statement = truncate(r.Statement)
	r.Reason = truncate(r.Reason)
	r.AuthFailure = truncate(r.AuthFailure)
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false) // keep SQL such as a < b readable
	if err := enc.Encode(r); err != nil {
		// Only an unencodable time (year outside 0..9999) gets here.
		buf.Reset()
		r.Reason = truncate(fmt.Sprintf("unencodable record (%v); original reason: %s", err, r.Reason))
		r.RequestTime = time.Now().UTC()
		_ = enc.Encode(r)
	}
	return buf
}

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= maxPooled {
		bufPool.Put(b)
	}
}

// truncate cuts s to at most MaxFieldBytes bytes (marker included) at a
// UTF-8 boundary.
func truncate(s string) string {
	if len(s) <= MaxFieldBytes {
		return s
	}
	// The suffix is at most len(TruncatedMarker)+len(" bytes]")+20 digits.
	keep := MaxFieldBytes - len(TruncatedMarker) - len(" bytes]") - 20
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	return s[:keep] + TruncatedMarker + fmt.Sprint(len(s)-keep) + " bytes]"
}

// run is the background writer: the only goroutine touching w.
func (l *Log) run(w *writer) {
	defer close(l.done)
	ticker := time.NewTicker(FlushInterval)
	defer ticker.Stop()
	closing := l.closing
	for {
		in := l.ch
		if closing != nil && w.failing() && len(w.buf) >= maxBacklog {
			in = nil // back-pressure while the disk fails; Write blocks
		}
		select {
		case b, ok := <-in:
			if !ok {
				l.finish(w)
				return
			}
			w.add(b.Bytes())
			putBuf(b)
			if len(in) == 0 || len(w.buf) >= batchBytes || time.Since(w.lastWrite) >= FlushInterval {
				w.writeOut()
			}
		case reply := <-l.flushCh:
			open := l.drain(w)
			reply <- w.sync()
			if !open {
				l.finish(w)
				return
			}
		case <-closing:
			closing = nil
		case <-ticker.C:
			if len(w.buf) > 0 {
				w.writeOut()
			}
		}
	}
}

// drain moves every queued record into the writer's buffer. It reports
// false if the channel was closed.
func (l *Log) drain(w *writer) bool {
	for {
		select {
		case b, ok := <-l.ch:
			if !ok {
				return false
			}
			w.add(b.Bytes())
			putBuf(b)
		default:
			return true
		}
	}
}

// finish runs once the channel is closed and empty. While the disk fails
// it keeps trying for closeRetry; records it still cannot write are not
// dropped: each goes, whole, to the process log as an ERROR with the
// record's JSON text ("record"), where log collection keeps it, and is
// counted (Spilled).
func (l *Log) finish(w *writer) {
	for deadline := time.Now().Add(l.closeRetry); w.failing() && len(w.buf) > 0 && time.Now().Before(deadline); {
		time.Sleep(min(closeRetryEvery, time.Until(deadline)))
		w.writeOut()
	}
	unwritten, err := w.close()
	l.closeErr = err
	if len(unwritten) == 0 {
		return
	}
	n := 0
	for line := range bytes.Lines(unwritten) {
		l.logger.Error("audit record not written: the audit disk failed until shutdown; the record is kept here",
			"record", string(bytes.TrimSuffix(line, []byte{'\n'})), "err", err)
		n++
	}
	l.spilled.Add(uint64(n))
	l.logger.Error("audit records written to the process log instead of the audit file", "records", n, "dir", l.dir, "err", err)
}
