package sample

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"
)

var usersPath = filepath.Join("..", "..", "data", "okera_sample", "users.parquet")

// readUsers reads a users file back with parquet-go, checking its schema.
func readUsers(t *testing.T, data []byte) []User {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	cols := f.Schema().Fields()
	var names []string
	for _, c := range cols {
		names = append(names, c.Name())
		if !c.Leaf() || c.Type().Kind() != parquet.ByteArray || c.Optional() || c.Repeated() {
			t.Errorf("column %s: not a required BYTE_ARRAY", c.Name())
		}
		if lt := c.Type().LogicalType(); lt == nil || lt.String() != "STRING" {
			t.Errorf("column %s: logical type %v, want STRING", c.Name(), lt)
		}
		if ct := c.Type().ConvertedType(); ct == nil || *ct != deprecated.UTF8 {
			t.Errorf("column %s: converted type %v, want UTF8", c.Name(), ct)
		}
	}
	if want := []string{"uid", "dob", "gender", "ccn"}; !slices.Equal(names, want) {
		t.Errorf("columns %v, want %v", names, want)
	}
	for _, rg := range f.Metadata().RowGroups {
		for _, cc := range rg.Columns {
			if cc.MetaData.Codec != format.Snappy {
				t.Errorf("column %v compressed with %v, want SNAPPY", cc.MetaData.PathInSchema, cc.MetaData.Codec)
			}
			for _, e := range cc.MetaData.Encoding {
				if e != format.Plain && e != format.RLE && e != format.BitPacked {
					t.Errorf("column %v uses encoding %v, want PLAIN only (widest reader support)", cc.MetaData.PathInSchema, e)
				}
			}
		}
	}
	rows := make([]User, f.NumRows())
	r := parquet.NewGenericReader[User](f)
	defer r.Close()
	n, err := r.Read(rows)
	if err != nil && n != len(rows) {
		t.Fatal(err)
	}
	return rows[:n]
}

func TestUsersParquetGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteUsersParquet(&buf); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("LAKEGATE_UPDATE_GOLDEN") == "1" {
		if err := os.MkdirAll(filepath.Dir(usersPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(usersPath, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", usersPath, buf.Len())
	}
	fresh := readUsers(t, buf.Bytes())
	if !slices.Equal(fresh, Users()) {
		t.Fatal("the written file does not read back as Users()")
	}
	committed, err := os.ReadFile(usersPath)
	if err != nil {
		t.Fatalf("%v (regenerate: LAKEGATE_UPDATE_GOLDEN=1 go test ./internal/sample)", err)
	}
	got := readUsers(t, committed)
	if len(got) != NumUsers {
		t.Fatalf("%s has %d rows, want %d", usersPath, len(got), NumUsers)
	}
	for i := range fresh {
		if got[i] != fresh[i] {
			t.Fatalf("%s row %d = %+v, want %+v (regenerate: LAKEGATE_UPDATE_GOLDEN=1 go test ./internal/sample)", usersPath, i, got[i], fresh[i])
		}
	}
	for _, u := range got {
		if !luhn(digitsOf(u.CCN)) {
			t.Errorf("%s: ccn %s is not Luhn-valid", u.UID, u.CCN)
		}
	}
}

var ccnRE = regexp.MustCompile(`^4\d{3}-\d{4}-\d{4}-\d{4}$`)

func TestUsers(t *testing.T) {
	users := Users()
	if len(users) != NumUsers {
		t.Fatalf("%d users", len(users))
	}
	if !slices.Equal(users, Users()) {
		t.Fatal("Users() is not deterministic")
	}
	lo, hi := time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2005, 12, 31, 0, 0, 0, 0, time.UTC)
	genders := map[string]int{}
	ccns := map[string]bool{}
	for i, u := range users {
		if want := fmt.Sprintf("u%04d", i+1); u.UID != want {
			t.Errorf("row %d: uid %q, want %q", i, u.UID, want)
		}
		d, err := time.Parse(time.DateOnly, u.DOB)
		if err != nil || d.Before(lo) || d.After(hi) {
			t.Errorf("%s: dob %q", u.UID, u.DOB)
		}
		genders[u.Gender]++
		if !ccnRE.MatchString(u.CCN) || !luhn(digitsOf(u.CCN)) {
			t.Errorf("%s: ccn %q", u.UID, u.CCN)
		}
		ccns[u.CCN] = true
	}
	if len(genders) != 2 || genders["F"] != NumUsers/2 || genders["M"] != NumUsers/2 {
		t.Errorf("genders %v", genders)
	}
	if len(ccns) != NumUsers {
		t.Errorf("%d distinct card numbers", len(ccns))
	}
	// The first row pins the generator: a change of seed or draw order
	// shows up here as well as in the golden file.
	if want := (User{UID: "u0001", DOB: "1960-11-17", Gender: "M", CCN: "4243-4910-8194-2328"}); users[0] != want {
		t.Errorf("first row %+v, want %+v", users[0], want)
	}
}

func TestCatalog(t *testing.T) {
	dbs, tables, attrs, colAttrs := Catalog()
	if !slices.Equal(dbs, []string{"okera_sample"}) || !slices.Equal(attrs, []string{"pii.credit_card"}) {
		t.Errorf("databases %v, attributes %v", dbs, attrs)
	}
	if len(tables) != 2 {
		t.Fatalf("tables %+v", tables)
	}
	users, whoami := tables[0], tables[1]
	if users.FullName() != "okera_sample.users" || whoami.FullName() != "okera_sample.whoami" {
		t.Errorf("tables %s, %s", users.FullName(), whoami.FullName())
	}
	var cols []string
	for _, c := range users.Columns {
		cols = append(cols, c.Name+" "+c.Type)
	}
	if want := []string{"uid string", "dob string", "gender string", "ccn string"}; !slices.Equal(cols, want) {
		t.Errorf("users columns %v", cols)
	}
	if len(whoami.Columns) != 1 || whoami.Columns[0].Name != "user" || whoami.Columns[0].Type != "string" {
		t.Errorf("whoami columns %+v", whoami.Columns)
	}
	if len(colAttrs) != 1 || colAttrs[0].Database != "okera_sample" || colAttrs[0].Table != "users" ||
		colAttrs[0].Column != "ccn" || colAttrs[0].Attribute != "pii.credit_card" {
		t.Errorf("column attributes %+v", colAttrs)
	}
}

func digitsOf(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// luhn is written here, not taken from builtins, so the test does not
// trust the generator it checks.
func luhn(s string) bool {
	if len(s) != 16 {
		return false
	}
	sum := 0
	for i := 0; i < len(s); i++ {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}
