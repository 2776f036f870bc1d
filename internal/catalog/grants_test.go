package catalog

import (
	"fmt"
	"slices"
	"testing"
)

func grantOf(role string, id int64) Grant {
	return Grant{ID: id, Role: role, Privilege: PrivSelect, Object: Object{Scope: ScopeTable, Database: "d", Table: fmt.Sprint("t", id)}}
}

func ids(gs []Grant) []int64 {
	out := make([]int64, len(gs))
	for i, g := range gs {
		out[i] = g.ID
	}
	return out
}

// Every operation returns a new set and leaves the old one, and the rows it
// shares, as they were; roles it does not touch keep their slices.
func TestGrantsCopyOnWrite(t *testing.T) {
	base := NewGrants([]Grant{grantOf("a", 1), grantOf("b", 2), grantOf("a", 3), grantOf("c", 4)})
	snapshot := fmt.Sprintf("%+v", base.All())
	check := func(what string, got Grants, wantLen int, wantIDs []int64) {
		t.Helper()
		if got.Len() != wantLen || !slices.Equal(ids(got.All()), wantIDs) {
			t.Errorf("%s: %d grants %v, want %d %v", what, got.Len(), ids(got.All()), wantLen, wantIDs)
		}
		if s := fmt.Sprintf("%+v", base.All()); s != snapshot {
			t.Fatalf("%s wrote the set it started from:\n%s\nwas\n%s", what, s, snapshot)
		}
	}
	check("base", base, 4, []int64{1, 2, 3, 4})

	added := base.With(grantOf("a", -1)).With(grantOf("d", -2))
	check("With", added, 6, []int64{1, 2, 3, 4, -1, -2})
	if !SameRows(added.Role("b"), base.Role("b")) || SameRows(added.Role("a"), base.Role("a")) {
		t.Error("With must copy the changed role only")
	}
	renumbered := added.Renumber(map[int64]int64{-1: 5, -2: 6})
	check("Renumber", renumbered, 6, []int64{1, 2, 3, 4, 5, 6})
	if !slices.Equal(ids(renumbered.Role("a")), []int64{1, 3, 5}) || !slices.Equal(ids(added.Role("a")), []int64{1, 3, -1}) {
		t.Errorf("Renumber: role a %v (was %v)", ids(renumbered.Role("a")), ids(added.Role("a")))
	}

	check("Without", base.Without("a", 3), 3, []int64{1, 2, 4})
	check("Without a grant not there", base.Without("a", 2), 4, []int64{1, 2, 3, 4})
	check("Without the last of a role", base.Without("b", 2), 3, []int64{1, 3, 4})
	if _, ok := base.Without("b", 2).byRole["b"]; ok {
		t.Error("a role without grants must leave the index")
	}
	check("WithoutRole", base.WithoutRole("a"), 2, []int64{2, 4})

	kept, dropped := base.Split(func(g Grant) bool { return g.ID%2 == 1 })
	check("Split", kept, 2, []int64{2, 4})
	if !slices.Equal(ids(dropped), []int64{1, 3}) {
		t.Errorf("Split dropped %v", ids(dropped))
	}
	if !SameRows(kept.Role("b"), base.Role("b")) {
		t.Error("Split must keep the slices of roles it drops nothing from")
	}
	none, dropped := base.Split(func(Grant) bool { return false })
	if len(dropped) != 0 || !SameRows(none.Role("a"), base.Role("a")) {
		t.Error("Split dropping nothing must change nothing")
	}
}

func TestSameRows(t *testing.T) {
	a := []int{1, 2, 3}
	if !SameRows(a, a) || !SameRows(a[:2], a[:2]) || SameRows(a, a[:2]) || SameRows(a, slices.Clone(a)) {
		t.Error("SameRows is identity of backing array and length")
	}
	if !SameRows([]int(nil), []int{}) {
		t.Error("empty rows are the same rows")
	}
}

// Names compare by ASCII case only: no Unicode folding makes two names one.
func TestFoldName(t *testing.T) {
	for in, want := range map[string]string{"ALICE": "alice", "\u212Aate": "\u212Aate", "ｌｉｃｅ": "ｌｉｃｅ", "ünal": "ünal", "Ünal": "Ünal", "MiXeD.Name": "mixed.name"} {
		if got := FoldName(in); got != want {
			t.Errorf("FoldName(%q) = %q, want %q", in, got, want)
		}
	}
}
