package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Query selects records for Read. The zero value selects everything.
type Query struct {
	User       string    // only this user (exact match); "" for all users
	Since      time.Time // only records with RequestTime at or after Since
	DeniedOnly bool      // only records with Outcome "denied"
	Limit      int       // stop after this many records; 0 for no limit
}

// Match reports whether r is selected by q (Limit aside).
func (q Query) Match(r *Record) bool {
	if q.User != "" && r.User != q.User {
		return false
	}
	if !q.Since.IsZero() && r.RequestTime.Before(q.Since) {
		return false
	}
	if q.DeniedOnly && r.Outcome != OutcomeDenied {
		return false
	}
	return true
}

// ErrTornLine is matched (errors.Is) by the error Read returns after it
// skipped an incomplete last line.
var ErrTornLine = errors.New("audit: torn last line skipped")

// ErrCorrupt is matched by the error Read returns when a complete line in the
// middle of a file is not a record.
var ErrCorrupt = errors.New("audit: corrupt record")

// TornLinesError reports the torn last lines Read skipped. Everything else was
// delivered, so callers usually treat it as a warning.
type TornLinesError struct {
	Lines int      // how many lines were skipped (at most one per file)
	Files []string // the files that ended with a torn line
}

func (e *TornLinesError) Error() string {
	return fmt.Sprintf("audit: skipped %d torn last line(s) in %s", e.Lines, strings.Join(e.Files, ", "))
}

// Unwrap makes errors.Is(err, ErrTornLine) true.
func (e *TornLinesError) Unwrap() error { return ErrTornLine }

// Read calls fn, in time order, for each record of the log in dir that q
// selects: the rotated files from oldest to newest, then audit.jsonl. It may
// run while a Log is writing to dir; records written after Read started may
// or may not be seen. Rotated files older than q.Since are not opened.
//
// If fn returns an error Read stops and returns it. A torn last line (a crash,
// or a record being appended right now) is skipped, and once everything else
// has been delivered Read returns a *TornLinesError (errors.Is ErrTornLine).
// A malformed line followed by others stops Read with an error matching
// ErrCorrupt.
func Read(dir string, q Query, fn func(Record) error) error {
	// Open the current file first and keep it open: if it is rotated while
	// we read, the open descriptor still holds exactly its records.
	cur, err := os.Open(filepath.Join(dir, CurrentFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("audit: %w", err)
	}
	var curInfo fs.FileInfo
	if cur != nil {
		defer cur.Close()
		if curInfo, err = cur.Stat(); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	rotated, err := listRotated(dir)
	if err != nil {
		return err
	}
	rd := reader{q: q, fn: fn}
	for _, rf := range rotated {
		if !q.Since.IsZero() && rf.t.Before(q.Since) {
			continue // rotated before Since: every record in it is older
		}
		f, err := os.Open(filepath.Join(dir, rf.name))
		if errors.Is(err, fs.ErrNotExist) {
			continue // pruned while we read
		}
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		if curInfo != nil {
			if st, err := f.Stat(); err == nil && os.SameFile(st, curInfo) {
				// The current file was rotated after we opened it; it and
				// anything newer are read below (or were written after Read
				// started).
				f.Close()
				break
			}
		}
		done, err := rd.file(f, rf.name)
		f.Close()
		if err != nil || done {
			return rd.result(err)
		}
	}
	if cur != nil {
		_, err := rd.file(cur, CurrentFile)
		return rd.result(err)
	}
	return rd.result(nil)
}

type reader struct {
	q    Query
	fn   func(Record) error
	n    int // records delivered
	torn []string
}

func (rd *reader) result(err error) error {
	if err != nil {
		return err
	}
	if len(rd.torn) > 0 {
		return &TornLinesError{Lines: len(rd.torn), Files: rd.torn}
	}
	return nil
}

// file reads one file. done reports that the limit was reached.
func (rd *reader) file(f io.Reader, name string) (done bool, err error) {
	br := bufio.NewReaderSize(f, 64<<10)
	var long []byte // a line longer than the reader's buffer
	lineNo := 0
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			continue
		}
		line := chunk
		if long != nil {
			long = append(long, chunk...)
			line, long = long, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return false, fmt.Errorf("audit: read %s: %w", name, err)
		}
		eof := err != nil
		if len(bytes.TrimSpace(line)) > 0 {
			lineNo++
			rec, perr := parseRecord(line)
			switch {
			case perr != nil && eof:
				// No newline after it: the last line, torn by a crash or
				// being appended right now.
				rd.torn = append(rd.torn, name)
				return false, nil
			case perr != nil:
				return false, fmt.Errorf("%w: %s line %d: %v", ErrCorrupt, name, lineNo, perr)
			case rd.q.Match(&rec):
				if err := rd.fn(rec); err != nil {
					return true, err
				}
				rd.n++
				if rd.q.Limit > 0 && rd.n >= rd.q.Limit {
					return true, nil
				}
			}
		}
		if eof {
			return false, nil
		}
	}
}

// parseRecord decodes one line, which must be a JSON object.
func parseRecord(line []byte) (Record, error) {
	var rec Record
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return rec, errors.New("not a JSON object")
	}
	err := json.Unmarshal(line, &rec)
	return rec, err
}
