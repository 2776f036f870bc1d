package planner

import (
	"fmt"
	"strings"
	"sync"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/policy"
)

// Schema drift: an engine reads a table the planner knows with columns that
// are not the catalog's (the table changed in the metastore). The request's
// columns are decided as sent — policies are keyed by name — and nothing is
// recorded: a read never changes the catalog. The drift is reported, once per
// table and policy version, as the metric lakegate_schema_drift_total, a
// warning in the log and a SCHEMA DRIFT audit record, so an administrator can
// update the catalog (ALTER TABLE, or DROP and CREATE).

type driftReports struct {
	mu   sync.Mutex
	seen map[string]int64 // table → policy version reported at
}

// first reports whether drift of table at version is new.
func (d *driftReports) first(table string, version int64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.seen == nil || len(d.seen) > 10000 {
		d.seen = make(map[string]int64)
	}
	if v, ok := d.seen[table]; ok && v == version {
		return false
	}
	d.seen[table] = version
	return true
}

// checkDrift reports an allowed read of a known table whose columns differ
// from the catalog's.
func (s *Server) checkDrift(c *caller, o *policy.Object) {
	if o.URI != "" || o.Table == "" || o.IsView || len(o.Columns) == 0 || (o.Action != "" && o.Action != catalog.PrivSelect) {
		return
	}
	t, ok := c.snap.policy.Table(strings.ToLower(o.Database), strings.ToLower(o.Table))
	if !ok || t.IsView {
		return
	}
	added, missing := columnDiff(t.Columns, o.Columns)
	if len(added) == 0 && len(missing) == 0 {
		return
	}
	if !s.drift.first(t.FullName(), c.snap.policy.Version()) {
		return
	}
	s.metrics.drift.Inc()
	why := fmt.Sprintf("an engine read %s with columns the catalog does not have [%s] and without catalog columns [%s]; "+
		"decided as sent, the catalog is unchanged", t.FullName(), strings.Join(added, ", "), strings.Join(missing, ", "))
	s.log.Warn("schema drift", "table", t.FullName(), "engine_only", added, "catalog_only", missing, "user", c.principal.User)
	s.record(c, audit.Record{StatementType: "SCHEMA DRIFT", Objects: []string{t.FullName()}, Outcome: audit.OutcomeOK, Reason: why})
}

// columnDiff lists the request's columns the catalog lacks and the
// catalog's the request lacks (names and types, case-insensitive).
func columnDiff(catalogCols, sent []catalog.Column) (added, missing []string) {
	key := func(c catalog.Column) string { return strings.ToLower(c.Name) + " " + strings.ToLower(c.Type) }
	have := make(map[string]bool, len(catalogCols))
	for _, c := range catalogCols {
		have[key(c)] = true
	}
	got := make(map[string]bool, len(sent))
	for _, c := range sent {
		k := key(c)
		got[k] = true
		if !have[k] {
			added = append(added, k)
		}
	}
	for _, c := range catalogCols {
		if k := key(c); !got[k] {
			missing = append(missing, k)
		}
	}
	return added, missing
}
