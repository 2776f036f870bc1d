package sample

import (
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/lakegate/lakegate/internal/builtins"
	"github.com/lakegate/lakegate/internal/catalog"
)

// Database is the sample database's name (an Okera compatibility name).
const Database = "okera_sample"

// Table and attribute names of the sample database.
const (
	UsersTable          = "users"
	WhoamiTable         = "whoami"
	CreditCardAttribute = "pii.credit_card"
)

// NumUsers is the number of rows of okera_sample.users.
const NumUsers = 300

// Catalog returns the sample database's catalog rows: the database, its
// two tables, the attribute pii.credit_card and the tag on users.ccn.
//
// whoami is a virtual table: it has no data file, and its one row, one
// column `user` is the authenticated user as the planner sees it. Both
// tables have an empty Location; whoever serves them decides where the
// users data lives (data/okera_sample/users.parquet in this repository).
func Catalog() (databases []string, tables []catalog.Table, attributes []string, colAttrs []catalog.ColumnAttribute) {
	databases = []string{Database}
	tables = []catalog.Table{
		{Database: Database, Name: UsersTable, Columns: []catalog.Column{
			{Name: "uid", Type: "string"},
			{Name: "dob", Type: "string"},
			{Name: "gender", Type: "string"},
			{Name: "ccn", Type: "string"},
		}},
		// Virtual: computed by the planner per request, no data file.
		{Database: Database, Name: WhoamiTable, Columns: []catalog.Column{
			{Name: "user", Type: "string"},
		}},
	}
	attributes = []string{CreditCardAttribute}
	colAttrs = []catalog.ColumnAttribute{
		{Database: Database, Table: UsersTable, Column: "ccn", Attribute: CreditCardAttribute},
	}
	return databases, tables, attributes, colAttrs
}

// User is one row of okera_sample.users.
type User struct {
	UID    string `parquet:"uid,snappy,plain"`
	DOB    string `parquet:"dob,snappy,plain"`    // YYYY-MM-DD
	Gender string `parquet:"gender,snappy,plain"` // F or M
	CCN    string `parquet:"ccn,snappy,plain"`    // 4xxx-xxxx-xxxx-xxxx, Luhn-valid
}

// The seed of the users rows; changing it changes the committed file.
const seed1, seed2 = 0x6c616b6567617465, 0x6f6b6572615f7331 // "lakegate", "okera_s1"

var (
	dobFirst = time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC)
	dobLast  = time.Date(2005, 12, 31, 0, 0, 0, 0, time.UTC)
)

// Users returns the rows of okera_sample.users: always the same 300 rows,
// uid u0001…u0300, dob uniform over 1940-01-01…2005-12-31, gender F or M
// (150 each, in random order), and a Luhn-valid 16-digit card number
// starting with 4, formatted 4xxx-xxxx-xxxx-xxxx.
func Users() []User {
	rng := rand.New(rand.NewPCG(seed1, seed2))
	// Exactly half F, half M, in random order.
	genders := make([]string, NumUsers)
	for i := range genders {
		genders[i] = []string{"F", "M"}[i%2]
	}
	rng.Shuffle(len(genders), func(i, j int) { genders[i], genders[j] = genders[j], genders[i] })
	days := int(dobLast.Sub(dobFirst).Hours()/24) + 1
	users := make([]User, NumUsers)
	for i := range users {
		dob := dobFirst.AddDate(0, 0, rng.IntN(days))
		digits := make([]byte, 15)
		digits[0] = '4'
		for j := 1; j < 15; j++ {
			digits[j] = byte('0' + rng.IntN(10))
		}
		n := string(digits) + string(builtins.LuhnCheckDigit(string(digits)))
		users[i] = User{
			UID:    fmt.Sprintf("u%04d", i+1),
			DOB:    dob.Format(time.DateOnly),
			Gender: genders[i],
			CCN:    n[0:4] + "-" + n[4:8] + "-" + n[8:12] + "-" + n[12:16],
		}
	}
	return users
}

// WriteUsersParquet writes Users() as a Parquet file: one row group,
// required columns uid, dob, gender, ccn, all BYTE_ARRAY with the STRING
// (UTF8) logical type, PLAIN-encoded in version 1 data pages,
// Snappy-compressed: the most widely readable form (Spark, Hive, Trino,
// pyarrow, DuckDB).
func WriteUsersParquet(w io.Writer) error {
	pw := parquet.NewGenericWriter[User](w, parquet.DataPageVersion(1))
	if _, err := pw.Write(Users()); err != nil {
		return err
	}
	return pw.Close()
}
