package policy

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/lakegate/lakegate/internal/catalog"
)

// Claims never widen a decision. A client's request carries claims — is_view,
// under_view, view_reads — that the engine must check against its catalog.
// For random policies (the differential test's worlds, each with one recorded
// view) and random read requests with random claims, every object's decision
// is exactly one of the decisions the catalog justifies: the reader's own
// (the same object asked without claims), or, when the object is under the
// recorded view, that view is in the request and readable by the reader, and
// the view's recorded reads include the object, the view definer's. Never
// anything else: in particular never wider.
func FuzzClaimsNeverWiden(f *testing.F) {
	for _, s := range []uint64{1, 2, 3, 2026, 424242} {
		f.Add(s, s*7+1)
	}
	f.Fuzz(func(t *testing.T, worldSeed, requestSeed uint64) {
		checkClaims(t, rand.New(rand.NewPCG(worldSeed, 3)), rand.New(rand.NewPCG(requestSeed, 5)))
	})
}

// TestClaimsNeverWiden runs the property over a fixed set of seeds in every
// `go test` (the fuzz target explores further).
func TestClaimsNeverWiden(t *testing.T) {
	for i := uint64(0); i < 300; i++ {
		checkClaims(t, rand.New(rand.NewPCG(i, 3)), rand.New(rand.NewPCG(i, 5)))
	}
}

func checkClaims(t *testing.T, wr, rr *rand.Rand) {
	w := randomWorld(wr)
	p, err := Compile(&w.st, Options{})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	view := w.view()
	names := []string{view.FullName(), "d1.nosuchview", ""}
	for _, tb := range w.st.Tables {
		names = append(names, tb.FullName())
	}
	for q := 0; q < 20; q++ {
		u := w.users[rr.IntN(len(w.users))]
		subj := p.Subject(u)
		n := 1 + rr.IntN(4)
		objs := make([]Object, n)
		for i := range objs {
			tb := w.st.Tables[rr.IntN(len(w.st.Tables))]
			o := Object{Database: tb.Database, Table: tb.Name, Columns: tb.Columns, Action: catalog.PrivSelect}
			// Random claims.
			o.IsView = rr.IntN(3) == 0
			if rr.IntN(2) == 0 {
				o.UnderView = names[rr.IntN(len(names))]
			}
			if rr.IntN(5) == 0 {
				o.ViewReads = []catalog.ViewRead{{Database: "d1", Table: w.st.Tables[rr.IntN(len(w.st.Tables))].Name}}
			}
			objs[i] = o
		}
		got := p.Authorize(subj, objs)
		for i, o := range objs {
			own := o
			own.IsView, own.UnderView, own.ViewReads = false, "", nil
			legit := []Decision{p.Authorize(subj, []Object{own})[0]}
			if def, ok := definerDecision(p, subj, objs, i, view); ok {
				legit = append(legit, def)
			}
			if !oneOf(got[i], legit) {
				t.Fatalf("user %s, object %d %s with claims (is_view=%v under_view=%q view_reads=%v) in %s:\n got %s\n justified: %s\ngrants:\n%s",
					u.User, i, own.Table, o.IsView, o.UnderView, o.ViewReads, describeObjs(objs), shape(got[i]), shapes(legit), w.describe())
			}
		}
	}
}

// definerDecision is the decision the recorded view justifies for objs[i]:
// the definer's, when objs[i] is sent under that view, the view is in the
// request as a view the reader may read, and the view records it as a read.
func definerDecision(p *Policy, reader *Subject, objs []Object, i int, view *catalog.Table) (Decision, bool) {
	o := objs[i]
	if o.UnderView != view.FullName() {
		return Decision{}, false
	}
	reads := false
	for _, r := range view.ViewReads {
		reads = reads || (r.Database == o.Database && r.Table == o.Table)
	}
	inRequest := false
	for j, v := range objs {
		if j != i && v.Database == view.Database && v.Table == view.Name {
			vo := v
			vo.UnderView, vo.ViewReads = "", nil
			if p.Authorize(reader, []Object{vo})[0].Allowed {
				inRequest = true
			}
		}
	}
	if !reads || !inRequest {
		return Decision{}, false
	}
	definer := p.Subject(Principal{User: view.Definer, Groups: view.DefinerGroups})
	own := o
	own.IsView, own.UnderView, own.ViewReads = false, "", nil
	return p.Authorize(definer, []Object{own})[0], true
}

// oneOf compares what a decision lets the user see: allowed, columns, filter.
func oneOf(d Decision, legit []Decision) bool {
	for _, l := range legit {
		if d.Allowed == l.Allowed && (!d.Allowed || (reflect.DeepEqual(d.Columns, l.Columns) && d.RowFilter == l.RowFilter)) {
			return true
		}
	}
	return false
}

func shape(d Decision) string {
	return fmt.Sprintf("{allowed=%v filter=%q columns=%v}", d.Allowed, d.RowFilter, d.Columns)
}

func shapes(ds []Decision) string {
	s := ""
	for _, d := range ds {
		s += shape(d) + " "
	}
	return s
}

func describeObjs(objs []Object) string {
	s := ""
	for _, o := range objs {
		s += fmt.Sprintf("[%s.%s view=%v under=%q] ", o.Database, o.Table, o.IsView, o.UnderView)
	}
	return s
}
