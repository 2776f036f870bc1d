package sqlite

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/store"
)

// The benchmark store: 100,000 grants of mixed shapes over 1,000 roles, with
// 2,000 memberships, 100 attributes, 50 databases, 5,000 tables of 12
// columns and 5,000 column attributes. It is built once per test binary
// and copied for each benchmark that changes it.
const (
	benchGrants    = 100_000
	benchRoles     = 1_000
	benchDatabases = 50
	benchTables    = 5_000
	benchAttrs     = 100
)

var (
	benchOnce sync.Once
	benchDir  string
	benchErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchStore returns the directory of the benchmark store.
func benchStore(b *testing.B) string {
	b.Helper()
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "lakegate-store-bench-")
		if benchErr == nil {
			benchErr = buildBenchStore(benchDir)
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDir
}

func buildBenchStore(dir string) error {
	s, err := Open(context.Background(), dir, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	role := func(i int) string { return fmt.Sprintf("role_%04d", i%benchRoles) }
	db := func(i int) string { return fmt.Sprintf("db_%02d", i%benchDatabases) }
	table := func(i int) string { return fmt.Sprintf("table_%04d", i%benchTables) }
	attr := func(i int) string { return fmt.Sprintf("ns_%d.tag_%02d", i%10, i%benchAttrs) }
	_, err = s.Apply(context.Background(), func(tx store.Tx) error {
		for i := range benchRoles {
			if err := tx.CreateRole(role(i)); err != nil {
				return err
			}
			for _, m := range []catalog.Membership{
				{Role: role(i), Kind: catalog.MemberGroup, Name: fmt.Sprintf("group_%04d", i)},
				{Role: role(i), Kind: catalog.MemberUser, Name: fmt.Sprintf("user%04d@example.com", i)},
			} {
				if err := tx.AddMembership(m); err != nil {
					return err
				}
			}
		}
		for i := range benchAttrs {
			if err := tx.CreateAttribute(attr(i)); err != nil {
				return err
			}
		}
		for i := range benchDatabases {
			if err := tx.CreateDatabase(db(i)); err != nil {
				return err
			}
		}
		for i := range benchTables {
			t := catalog.Table{Database: db(i), Name: table(i), Location: "s3://warehouse/" + db(i) + "/" + table(i)}
			for c := range 12 {
				t.Columns = append(t.Columns, catalog.Column{Name: fmt.Sprintf("column_%02d", c), Type: "string"})
			}
			if err := tx.PutTable(t); err != nil {
				return err
			}
			if err := tx.AddColumnAttribute(catalog.ColumnAttribute{Database: db(i), Table: table(i), Column: "column_03", Attribute: attr(i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Grants in batches of 10,000, as a bulk import would.
	for batch := 0; batch < benchGrants; batch += 10_000 {
		_, err := s.Apply(context.Background(), func(tx store.Tx) error {
			for i := batch; i < batch+10_000; i++ {
				g := catalog.Grant{Role: role(i), Privilege: catalog.PrivSelect,
					Object: catalog.Object{Scope: catalog.ScopeTable, Database: db(i), Table: table(i)}}
				switch i % 10 {
				case 0, 1: // column list
					g.Columns = []string{"column_00", "column_01", "column_05"}
				case 2: // attribute-based database grant with a mask
					g.Object = catalog.Object{Scope: catalog.ScopeDatabase, Database: db(i)}
					g.Attributes = []string{attr(i)}
					g.Transforms = []catalog.Transform{{Attribute: attr(i), Function: "mask_ccn"}}
				case 3: // row filter
					g.Filter = fmt.Sprintf("region = 'EU' AND has_roles('%s')", role(i+1))
				case 4: // HAVING ATTRIBUTE NOT IN
					g.Object = catalog.Object{Scope: catalog.ScopeDatabase, Database: db(i)}
					g.Attributes, g.AttributesNot = []string{attr(i), attr(i + 1)}, true
				case 5:
					g.Privilege = catalog.PrivAll
					g.Object = catalog.Object{Scope: catalog.ScopeURI, URI: fmt.Sprintf("s3://bucket/path/%d/", i)}
				}
				if _, err := tx.AddGrant(g); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// copyStore copies the benchmark store into a fresh directory.
func copyStore(b *testing.B, from string) string {
	b.Helper()
	to := b.TempDir()
	src, err := os.Open(filepath.Join(from, FileName))
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(filepath.Join(to, FileName), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		b.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		b.Fatal(err)
	}
	return to
}

// reportCPU adds a cpu-ms/op metric: CPU time used per iteration since
// start, which a loaded machine distorts less than ns/op.
func reportCPU(b *testing.B, start time.Duration) {
	if end, ok := cpuTime(); ok {
		b.ReportMetric(float64(end-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	}
}

// BenchmarkLoad100kGrants is Load on an open store: what a planner pays to
// rebuild its policy from the store.
func BenchmarkLoad100kGrants(b *testing.B) {
	s := openTest(b, benchStore(b))
	defer s.Close()
	b.ReportAllocs()
	var st *catalog.State
	cpu0, _ := cpuTime()
	for b.Loop() {
		var err error
		if st, err = s.Load(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	if st.Grants.Len() != benchGrants {
		b.Fatalf("loaded %d grants", st.Grants.Len())
	}
	reportCPU(b, cpu0)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchGrants, "ns/grant")
}

// BenchmarkOpenLoad100kGrants is a planner's cold start: Open (with
// quick_check and the migration check), Load and Close.
func BenchmarkOpenLoad100kGrants(b *testing.B) {
	dir := benchStore(b)
	b.ReportAllocs()
	cpu0, _ := cpuTime()
	for b.Loop() {
		s := openTest(b, dir)
		st, err := s.Load(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if st.Grants.Len() != benchGrants {
			b.Fatalf("loaded %d grants", st.Grants.Len())
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu0)
	if fi, err := os.Stat(filepath.Join(dir, FileName)); err == nil {
		b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
	}
}

// BenchmarkApplyOneGrant is the latency of a small acknowledged change
// (dominated by fsync with synchronous=FULL).
func BenchmarkApplyOneGrant(b *testing.B) {
	s := openTest(b, copyStore(b, benchStore(b)))
	defer s.Close()
	b.ReportAllocs()
	for b.Loop() {
		_, err := s.Apply(context.Background(), func(tx store.Tx) error {
			_, err := tx.AddGrant(catalog.Grant{Role: "role_0001", Privilege: catalog.PrivSelect,
				Object: catalog.Object{Scope: catalog.ScopeTable, Database: "db_01", Table: "t"}, Columns: []string{"a", "b"}})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
