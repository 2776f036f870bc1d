// Package audit is lakegate's append-only audit log: one JSON object per line
// (JSON Lines) for every authorization decision (allowed and denied), every
// authentication failure and every DDL statement the planner runs. The planner
// serves it back as okera_system.audit_logs.
//
// # Files
//
// A Log owns one directory (DATA_DIR/audit, created 0700). Records are
// appended to audit.jsonl (0600). When that file would grow past
// Options.MaxFileBytes it is closed, renamed to
// audit-<UTC YYYYMMDDTHHMMSS.nnnnnnnnnZ>.jsonl (the time it was rotated) and a
// new audit.jsonl is started; Options.MaxFiles bounds how many rotated files
// are kept, the oldest being deleted first. Rotated names sort in time order.
// A lock file (audit.lock) stops two processes from writing one directory at
// the same time on platforms that have flock(2).
//
// # Writing
//
// Write encodes the record in the caller's goroutine and hands the bytes to a
// single background writer through a bounded channel. When the channel is full
// Write blocks (back-pressure): records are never dropped to keep the caller
// fast. The writer batches records, writes whole records only (a reader of a
// live log sees complete lines), writes whenever its queue empties and at
// least every 200 ms, and fsyncs on Flush, Close and rotation.
//
// If the disk fails (full, read-only, …) the writer keeps the unwritten bytes,
// logs the error and retries; once its backlog is full, Write blocks, so the
// planner stops answering rather than deciding without an audit trail. A
// partial write is resumed where it stopped, so the file never holds a torn
// record in its middle. Flush reports the failure. Records still unwritten
// when Close gives up are counted by Dropped, which must stay 0.
//
// # Crashes
//
// A crash can leave a torn last line in audit.jsonl. Open repairs it: a tail
// that is a complete record missing only its newline is kept (the newline is
// added); anything else is cut off and reported in the log (slog, Warn). Read
// tolerates a torn last line in any file (for example when reading the
// directory of a crashed planner that has not been restarted, or a live file
// while a record is being appended): it skips the line, delivers everything
// else and then returns a *TornLinesError, which matches ErrTornLine.
package audit
