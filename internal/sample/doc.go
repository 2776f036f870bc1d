// Package sample provides okera_sample, the sample database every planner
// serves (as Okera's did): the table users(uid, dob, gender, ccn), whose
// ccn column carries the attribute pii.credit_card, and the virtual table
// whoami(user).
//
// The users rows are generated deterministically (Users) and committed as
// data/okera_sample/users.parquet; a golden test keeps the two equal:
//
//	LAKEGATE_UPDATE_GOLDEN=1 go test ./internal/sample
//
// rewrites the file.
package sample
