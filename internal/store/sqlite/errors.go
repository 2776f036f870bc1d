package sqlite

import (
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/lakegate/lakegate/internal/store"
)

// sqliteCode returns the (extended) SQLite result code of err, or 0.
func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

func isConstraint(err error, extended int) bool { return sqliteCode(err) == extended }

const (
	codeConstraintPrimaryKey = sqlite3.SQLITE_CONSTRAINT | 6<<8 // SQLITE_CONSTRAINT_PRIMARYKEY
	codeConstraintUnique     = sqlite3.SQLITE_CONSTRAINT | 8<<8 // SQLITE_CONSTRAINT_UNIQUE
	codeConstraintForeignKey = sqlite3.SQLITE_CONSTRAINT | 3<<8 // SQLITE_CONSTRAINT_FOREIGNKEY
	codeConstraintCheck      = sqlite3.SQLITE_CONSTRAINT | 1<<8 // SQLITE_CONSTRAINT_CHECK
	codeConstraintNotNull    = sqlite3.SQLITE_CONSTRAINT | 5<<8 // SQLITE_CONSTRAINT_NOTNULL
)

func isDuplicate(err error) bool {
	c := sqliteCode(err)
	return c == codeConstraintPrimaryKey || c == codeConstraintUnique
}

// isCorruption reports whether err says the file is damaged or not a database.
func isCorruption(err error) bool {
	switch sqliteCode(err) & 0xff {
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return true
	}
	return false
}

// corrupt builds the error for a damaged store file: which file, what is
// wrong and what to do about it.
func corrupt(path, detail string) error { return &corruptError{path: path, detail: detail} }

type corruptError struct{ path, detail string }

func (e *corruptError) Error() string {
	return fmt.Sprintf("%v: %s: %s. lakegate cannot use this file: stop lakegate, move %s aside together with "+
		"any %s-wal and %s-shm beside it, and restore the store from a backup (lakegate store restore; or start again "+
		"with an empty store, whose roles, grants and attributes must then be recreated)",
		store.ErrCorrupt, e.path, e.detail, e.path, FileName, FileName)
}

func (e *corruptError) Unwrap() error { return store.ErrCorrupt }

// wrap adds the file and, for damage SQLite detects, ErrCorrupt to err.
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if isCorruption(err) {
		return corrupt(s.path, fmt.Sprintf("%s: %v", op, err))
	}
	return fmt.Errorf("store %s: %s: %w", s.path, op, err)
}
