package gen

import (
	"math/rand/v2"
	"testing"

	"github.com/lakegate/lakegate/internal/policy"
)

// TestShape checks the promises of the package comment on the default policy.
func TestShape(t *testing.T) {
	d := Generate(Default())
	st := d.State
	if st.Grants.Len() != 100_000 || len(st.Roles) != 1_000 || len(st.Tables) != 10_000 || len(d.Users) != 10_000 {
		t.Fatalf("grants %d roles %d tables %d users %d", st.Grants.Len(), len(st.Roles), len(st.Tables), len(d.Users))
	}
	for _, u := range d.Users[:100] {
		if len(u.Groups) != 20 {
			t.Fatalf("%s has %d groups", u.Name, len(u.Groups))
		}
	}
	pol, err := policy.Compile(st, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	counts := map[string]int{}
	for i := 0; i < 1000; i++ {
		u := d.Users[i*10]
		s := pol.Subject(u.Principal())
		objs := d.Request(rng, u, i%4 == 0)
		ds := pol.Authorize(s, objs)
		for j, dec := range ds {
			if j == 0 {
				if !dec.Allowed {
					t.Fatalf("%s denied %s: %s", u.Name, dec.Object, dec.Reason)
				}
				n := map[policy.ColumnAction]int{}
				for _, c := range dec.Columns {
					n[c.Action]++
				}
				if n[policy.Visible] != 80 || n[policy.Masked] != 20 {
					t.Fatalf("%s on customers: %v (filter %q)", u.Name, n, dec.RowFilter)
				}
				if dec.RowFilter == "" {
					counts["customers unfiltered"]++
				}
			}
			if !dec.Allowed {
				counts["denied"]++
				continue
			}
			counts["allowed"]++
			if dec.RowFilter != "" {
				counts["filtered"]++
			}
			for _, c := range dec.Columns {
				counts[c.Action.String()]++
			}
		}
		if i == 0 {
			t.Logf("roles of %s: %d; request %d objects; customers filter %q", u.Name, len(s.Roles), len(objs), ds[0].RowFilter)
		}
	}
	t.Logf("%v", counts)
	if counts["CONDITIONAL"] != 0 {
		t.Fatalf("conditional columns: the policy is meant to be the common case")
	}
	huge := d.Object(SalesDB, HugeTable)
	dec := pol.Authorize(pol.Subject(d.Users[1].Principal()), []policy.Object{huge})[0]
	n := map[policy.ColumnAction]int{}
	for _, c := range dec.Columns {
		n[c.Action]++
	}
	if n[policy.Masked] != 300 || n[policy.Visible] != 700 {
		t.Fatalf("events_wide: %v", n)
	}
}
