// Package sqlite is the embedded policy store: one SQLite database file,
// dir/lakegate.db, driven by the pure-Go modernc.org/sqlite (no cgo).
//
// Durability and concurrency: the file is in WAL mode with
// synchronous=FULL, so an Apply that returned has been fsynced and survives
// the process being killed. Apply runs on a single writer connection under a
// mutex (BEGIN IMMEDIATE, so another process on the same file waits up to
// the busy timeout rather than failing mid-transaction); Load runs on a small
// pool of read-only connections, each Load in one read transaction, so it
// sees one committed snapshot and never blocks or waits for Apply.
//
// Schema: the migrations/NNNN_*.sql files embedded in the binary are applied
// in order at Open, each in its own transaction, and recorded in
// schema_migrations. Open refuses a store whose schema is newer than the
// binary (*store.SchemaVersionError), a file that is not SQLite or that
// PRAGMA quick_check finds damaged, and an SQLite database that is not a
// lakegate store (store.ErrCorrupt); each error names the file and what to
// do.
//
// Tables (see migrations/0001_init.sql): meta (the policy version), roles,
// memberships, grants (id INTEGER PRIMARY KEY AUTOINCREMENT, so IDs are never
// reused; columns, attributes and transforms as JSON text), attributes,
// databases, tables (columns as JSON text; since 0002 also a view's
// definer, definer_groups and view_reads) and column_attributes. Foreign
// keys with ON DELETE CASCADE implement the cascades of store.Tx.
package sqlite
