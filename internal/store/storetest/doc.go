// Package storetest is the conformance suite every store backend runs:
// RunConformance checks, through the store.Store interface only, the
// contract documented in package store (round trips, versions, atomicity,
// errors, cascades, ID allocation, concurrency and Load order).
//
// A backend's test calls it with a function that opens a fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.RunConformance(t, func(t *testing.T) store.Store {
//			s, err := sqlite.Open(context.Background(), t.TempDir(), nil)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
package storetest
