package planner

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lakegate/lakegate/internal/durable"
)

// The policy watermark: the last policy version this planner committed,
// kept outside the database file (in the audit directory, a file of its
// own). A store that comes back at an older version — truncated and started
// afresh, restored from an old copy, or a damaged write-ahead log that
// silently rolled back a REVOKE — is refused at start, naming both versions,
// unless the operator says the rollback is wanted (--accept-policy-rollback).
// A store ahead of the watermark (a crash between commit and the watermark's
// write) is accepted and the watermark moves up.

const watermarkFile = "policy-version"

// The file holds two fixed-size slots, each a line "lakegate policy-version
// V CRC" padded to slotSize bytes; the watermark is the highest version of
// a valid slot. A commit overwrites the slot holding the lower version in
// place and fdatasyncs it: no rename, no change of size, so no file-system
// journal commit per policy change (the rename and two fsyncs it replaced
// took a tenth of Authorize's throughput at 50 changes a second). A write
// torn by a crash spoils only the slot being written; the other still holds
// the version before. An older file of one line "V" is read as well.
const slotSize = 64

func encodeSlot(v int64) []byte {
	line := fmt.Sprintf("lakegate policy-version %d %08x", v, crc32.ChecksumIEEE([]byte(strconv.FormatInt(v, 10))))
	b := []byte(line + strings.Repeat(" ", slotSize-1-len(line)) + "\n")
	return b
}

func parseSlot(b []byte) (int64, bool) {
	f := strings.Fields(string(b))
	if len(f) != 4 || f[0] != "lakegate" || f[1] != "policy-version" {
		return 0, false
	}
	v, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || v < 0 || fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte(f[2]))) != f[3] {
		return 0, false
	}
	return v, true
}

// parseWatermark returns the watermark in b and, for a two-slot file, the
// slot to overwrite next (the one not holding it).
func parseWatermark(b []byte) (v int64, next int, ok bool) {
	if len(b) == 2*slotSize {
		v0, ok0 := parseSlot(b[:slotSize])
		v1, ok1 := parseSlot(b[slotSize:])
		switch {
		case ok0 && (!ok1 || v0 >= v1):
			return v0, 1, true
		case ok1:
			return v1, 0, true
		}
		return 0, 0, false
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64) // the one-line file of earlier versions
	return v, 0, err == nil && v >= 0
}

func readWatermark(path string) (int64, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read the policy watermark %s: %w", path, err)
	}
	v, _, ok := parseWatermark(b)
	if !ok {
		return 0, false, fmt.Errorf("the policy watermark %s is damaged (%q); it holds the last committed policy version: "+
			"restore it, or start with --accept-policy-rollback to trust the store as it is", path, strings.TrimSpace(string(b)))
	}
	return v, true, nil
}

// writeWatermark replaces the watermark file with both slots at v,
// atomically and durably (at start and by lakegate store restore; commits
// use watermark.mark).
func writeWatermark(path string, v int64) error {
	return durable.WriteFile(path, append(encodeSlot(v), encodeSlot(v)...), 0o600)
}

// watermark is the open watermark file of a running planner.
type watermark struct {
	path string
	f    *os.File
	next int // the slot to overwrite next
}

func openWatermark(path string, version int64) (*watermark, error) {
	if err := writeWatermark(path, version); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return &watermark{path: path, f: f}, nil
}

// mark records v as committed: one slot overwritten in place, fdatasync'd.
func (w *watermark) mark(v int64) error {
	if _, err := w.f.WriteAt(encodeSlot(v), int64(w.next*slotSize)); err != nil {
		return err
	}
	if err := fdatasync(w.f); err != nil {
		return err
	}
	w.next ^= 1
	return nil
}

// checkWatermark compares the loaded store's version with the watermark.
func (s *Server) checkWatermark(path string, version int64) error {
	mark, ok, err := readWatermark(path)
	if err != nil && !s.cfg.AcceptPolicyRollback {
		return err
	}
	if ok && version < mark {
		if !s.cfg.AcceptPolicyRollback {
			return fmt.Errorf("the policy store is at version %d, but this planner last committed version %d (recorded in %s): "+
				"the store was rolled back, truncated or replaced, and changes made since — a REVOKE among them — would be lost. "+
				"Stop, restore the store from a backup at version %d or later, or, if the older policy is wanted, "+
				"start once with --accept-policy-rollback", version, mark, path, mark)
		}
		s.log.Warn("ACCEPTED POLICY ROLLBACK (--accept-policy-rollback): serving an older policy than the last one committed",
			"store_version", version, "last_committed", mark, "watermark", path)
	}
	w, err := openWatermark(path, version)
	if err != nil {
		return fmt.Errorf("record the policy version in %s: %w", path, err)
	}
	s.watermark = w
	return nil
}

// markCommitted moves the watermark to version (called after each commit).
func (s *Server) markCommitted(version int64) {
	if s.watermark == nil {
		return
	}
	if err := s.watermark.mark(version); err != nil {
		s.log.Error("could not record the committed policy version outside the store", "file", s.watermark.path, "version", version, "err", err)
	}
}

// AuditDir is the audit directory of a planner on dataDir (Config.AuditDir
// unset), where its watermark lives.
func AuditDir(dataDir string) string { return filepath.Join(dataDir, "audit") }

// ResetWatermark records version as the last committed policy version of
// the planner whose audit directory is auditDir: after an operator restored
// the store from a backup on purpose, so that the planner starts on it
// without --accept-policy-rollback. It returns the version it replaced
// (-1: none). The planner must not be running.
func ResetWatermark(auditDir string, version int64) (int64, error) {
	path := filepath.Join(auditDir, watermarkFile)
	old, ok, err := readWatermark(path)
	if !ok || err != nil {
		old = -1
	}
	if err := writeWatermark(path, version); err != nil {
		return old, fmt.Errorf("record policy version %d in %s: %w", version, path, err)
	}
	return old, nil
}
