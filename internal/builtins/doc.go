// Package builtins implements lakegate's masking functions (mask,
// mask_ccn, tokenize, sha2, hash, fnv_hash, null, zero, random_ccn,
// phi_age, diff_privacy), the ones a TRANSFORM clause names and Okera
// users know.
//
// The functions have two implementations: this package (used by the
// planner, the CLI and tests) and Spark Catalyst expressions in the
// Scala extension. docs/builtins.md is their specification, and
// testdata/builtins/vectors.json holds the test vectors both test suites
// run, so the two cannot drift. The vectors are generated from the case
// list in vectors_test.go:
//
//	LAKEGATE_UPDATE_GOLDEN=1 go test ./internal/builtins -run TestVectors
//
// Every function takes the column value first and maps NULL to NULL.
// Eval is the typed, SQL-like entry point; Mask, MaskCCN, Tokenize,
// TokenizeInt, Sha2, Hash, FnvHash, PhiAge, RandomCCN and DiffPrivacy are
// plain Go helpers for one type each.
package builtins
