package planner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

func readWatermark(path string) (int64, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read the policy watermark %s: %w", path, err)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || v < 0 {
		return 0, false, fmt.Errorf("the policy watermark %s is damaged (%q); it holds the last committed policy version: "+
			"restore it, or start with --accept-policy-rollback to trust the store as it is", path, strings.TrimSpace(string(b)))
	}
	return v, true, nil
}

// writeWatermark replaces the watermark atomically and durably.
func writeWatermark(path string, v int64) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err = fmt.Fprintf(f, "%d\n", v); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
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
	s.watermark = path
	s.markCommitted(version)
	return nil
}

// markCommitted moves the watermark to version (called after each commit).
func (s *Server) markCommitted(version int64) {
	if s.watermark == "" {
		return
	}
	if err := writeWatermark(s.watermark, version); err != nil {
		s.log.Error("could not record the committed policy version outside the store", "file", s.watermark, "version", version, "err", err)
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
