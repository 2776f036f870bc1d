package sqlite

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/lakegate/lakegate/internal/catalog"
)

var oddStrings = []string{
	"", "plain", "with space", `quote"d`, `back\slash`, "tab\there", "new\nline", "\x01\x1f\x7f",
	"ünï", "😀 emoji", "\u2028\u2029", "<html>&amp;", "/slash/", "'sql ''literal'''", "[,{}:]",
}

func TestCodecRoundTrip(t *testing.T) {
	lists := [][]string{nil, {"a"}, oddStrings, {"", ""}}
	for _, l := range lists {
		enc, err := encodeStrings(l)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := enc.(string)
		got, err := decodeStrings(s)
		if err != nil || !reflect.DeepEqual(got, l) {
			t.Errorf("strings %q → %q → %q, %v", l, s, got, err)
		}
	}
	var cols []catalog.Column
	for i, s := range oddStrings {
		cols = append(cols, catalog.Column{Name: s, Type: oddStrings[len(oddStrings)-1-i]})
	}
	enc, err := encodeColumns(cols)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := decodeColumns(enc.(string)); err != nil || !reflect.DeepEqual(got, cols) {
		t.Errorf("columns %v → %v, %v", cols, got, err)
	}
	ts := []catalog.Transform{
		{Attribute: "pii.ccn", Function: "mask_ccn"},
		{Attribute: `a"b`, Function: "mask", Args: oddStrings},
		{Attribute: "x", Function: "f", Args: []string{"1"}},
	}
	enc, err = encodeTransforms(ts)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := decodeTransforms(enc.(string)); err != nil || !reflect.DeepEqual(got, ts) {
		t.Errorf("transforms %v → %v, %v", ts, got, err)
	}
	rs := []catalog.ViewRead{{Database: "hr", Table: "secret"}, {URI: "s3://b/p"}}
	for i, s := range oddStrings {
		rs = append(rs, catalog.ViewRead{Database: s, Table: oddStrings[len(oddStrings)-1-i], URI: s})
	}
	enc, err = encodeViewReads(rs)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := decodeViewReads(enc.(string)); err != nil || !reflect.DeepEqual(got, rs) {
		t.Errorf("view reads %v → %v, %v", rs, got, err)
	}
	if enc, err := encodeViewReads(nil); enc != nil || err != nil {
		t.Errorf("encodeViewReads(nil) = %v, %v; want NULL", enc, err)
	}
}

// TestFastPathTaken checks that what the encoders write for ordinary
// names is read by the parser, not by the encoding/json fallback.
func TestFastPathTaken(t *testing.T) {
	for _, in := range []string{
		`["a","b.c"]`,
		`[{"name":"id","type":"bigint"},{"name":"ünï","type":"map<string,int>"}]`,
		`[{"attribute":"pii.ccn","function":"mask_ccn"},{"attribute":"a","function":"mask","args":["'x'","3"]}]`,
		`["quote\"d","tab\t"]`,
		`[{"database":"hr","table":"secret","uri":""},{"database":"","table":"","uri":"s3://b/p"}]`,
	} {
		p := parser{s: in}
		switch in[1] {
		case '{':
			switch in[2:6] {
			case `"nam`:
				p.columns()
			case `"dat`:
				p.viewReads()
			default:
				p.transforms()
			}
		default:
			p.strings()
		}
		if !p.end() {
			t.Errorf("fast parser failed on %s at byte %d", in, p.i)
		}
	}
}

func TestDecodeFallback(t *testing.T) {
	// Whitespace, another key order and \u escapes are valid JSON the
	// fast path does not take; the result must still be right.
	got, err := decodeStrings(` [ "a" , "\u00fc\ud83d\ude00" ] `)
	if err != nil || !reflect.DeepEqual(got, []string{"a", "ü😀"}) {
		t.Errorf("decodeStrings = %q, %v", got, err)
	}
	cols, err := decodeColumns(`[{"type":"int","name":"c"}]`)
	if err != nil || !reflect.DeepEqual(cols, []catalog.Column{{Name: "c", Type: "int"}}) {
		t.Errorf("decodeColumns = %v, %v", cols, err)
	}
	tr, err := decodeTransforms(`[{"function":"f","attribute":"a","args":[]}]`)
	if err != nil || !reflect.DeepEqual(tr, []catalog.Transform{{Attribute: "a", Function: "f"}}) {
		t.Errorf("decodeTransforms = %v, %v", tr, err)
	}
	vr, err := decodeViewReads(`[{"uri":"s3://b/p"}, {"table":"t","database":"d"}]`)
	if err != nil || !reflect.DeepEqual(vr, []catalog.ViewRead{{URI: "s3://b/p"}, {Database: "d", Table: "t"}}) {
		t.Errorf("decodeViewReads = %v, %v", vr, err)
	}
	if _, err := decodeStrings(`["unterminated`); err == nil {
		t.Error("decodeStrings accepted malformed JSON")
	}
}

func TestDecodeGrantRow(t *testing.T) {
	var g catalog.Grant
	row := `[42,1,"r\"x","SELECT","TABLE","d","t","","a = '\\' AND b = \"\u0001\""]`
	if err := decodeGrantRow(row, &g); err != nil {
		t.Fatal(err)
	}
	want := catalog.Grant{ID: 42, AttributesNot: true, Role: `r"x`, Privilege: catalog.PrivSelect,
		Object: catalog.Object{Scope: catalog.ScopeTable, Database: "d", Table: "t"}, Filter: "a = '\\' AND b = \"\x01\""}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("decodeGrantRow = %+v, want %+v", g, want)
	}
	for _, bad := range []string{``, `[`, `[1,0,"r","SELECT","TABLE","d","t","",""`, `[x,0,"r","SELECT","TABLE","d","t","",""]`,
		`[1,0,"r","SELECT","TABLE","d","t","",""]x`} {
		if err := decodeGrantRow(bad, &g); err == nil {
			t.Errorf("decodeGrantRow(%q) succeeded", bad)
		}
	}
}

// FuzzStrings checks the fast string-list parser against encoding/json:
// whatever it accepts, encoding/json must read the same way.
func FuzzStrings(f *testing.F) {
	for _, s := range []string{`["a"]`, `[]`, `["a\"b","\u00e9"]`, `["\ud800\u0041"]`, `["\ud83d\ude00"]`, "[\"\xff\"]", `["a","b"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p := parser{s: in}
		got := p.strings()
		if !p.end() {
			return // fallback territory
		}
		var want []string
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatalf("fast parser accepted %q, encoding/json rejects it: %v", in, err)
		}
		if len(want) == 0 {
			want = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: fast parser %q, encoding/json %q", in, got, want)
		}
	})
}

// FuzzRoundTrip checks that any list of valid strings survives encoding
// and decoding.
func FuzzRoundTrip(f *testing.F) {
	f.Add("a", "b", `c"\`)
	f.Fuzz(func(t *testing.T, a, b, c string) {
		in := []string{a, b, c}
		enc, err := encodeStrings(in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeStrings(enc.(string))
		if err != nil {
			t.Fatal(err)
		}
		var want []string // what encoding/json itself round-trips to (invalid UTF-8 becomes U+FFFD)
		if err := json.Unmarshal([]byte(enc.(string)), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q → %s → %q, encoding/json %q", in, enc, got, want)
		}
	})
}
