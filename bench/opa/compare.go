package main

import (
	"fmt"
	"slices"

	"github.com/lakegate/lakegate/internal/policy"
)

// sameDecisions reports how lakegate's decisions and OPA's answer to the
// same request differ ("" when they agree): allowed, object name, row
// filter, full access, and per column the name, action and mask.
func sameDecisions(want []policy.Decision, got any) string {
	arr, ok := got.([]any)
	if !ok {
		return fmt.Sprintf("OPA returned %T, want an array", got)
	}
	if len(arr) != len(want) {
		return fmt.Sprintf("OPA returned %d decisions, lakegate %d", len(arr), len(want))
	}
	for i, w := range want {
		m, ok := arr[i].(map[string]any)
		if !ok {
			return fmt.Sprintf("decision %d: OPA returned %T", i, arr[i])
		}
		if m["object"] != w.Object {
			return fmt.Sprintf("decision %d: object %v, lakegate %q", i, m["object"], w.Object)
		}
		if m["allowed"] != w.Allowed {
			return fmt.Sprintf("%s: OPA allowed=%v, lakegate allowed=%v (%s)", w.Object, m["allowed"], w.Allowed, w.Reason)
		}
		if !w.Allowed {
			continue
		}
		if m["row_filter"] != w.RowFilter {
			return fmt.Sprintf("%s: OPA row filter %q, lakegate %q", w.Object, m["row_filter"], w.RowFilter)
		}
		if m["full_access"] != w.FullAccess {
			return fmt.Sprintf("%s: OPA full_access=%v, lakegate %v", w.Object, m["full_access"], w.FullAccess)
		}
		cols, _ := m["columns"].([]any)
		if len(cols) != len(w.Columns) {
			return fmt.Sprintf("%s: OPA %d columns, lakegate %d", w.Object, len(cols), len(w.Columns))
		}
		for j, wc := range w.Columns {
			if wc.Action == policy.Conditional {
				return fmt.Sprintf("%s.%s: lakegate returned a CONDITIONAL column, outside the common case the baseline computes", w.Object, wc.Name)
			}
			gc, _ := cols[j].(map[string]any)
			if gc["name"] != wc.Name || gc["action"] != wc.Action.String() {
				return fmt.Sprintf("%s column %d: OPA %v %v, lakegate %s %s", w.Object, j, gc["name"], gc["action"], wc.Name, wc.Action)
			}
			if wc.Action != policy.Masked {
				continue
			}
			gm, _ := gc["mask"].(map[string]any)
			var args []string
			if a, ok := gm["args"].([]any); ok {
				for _, x := range a {
					args = append(args, fmt.Sprint(x))
				}
			}
			if gm["function"] != wc.Mask.Function || !slices.Equal(args, wc.Mask.Args) {
				return fmt.Sprintf("%s.%s: OPA mask %v, lakegate %+v", w.Object, wc.Name, gm, *wc.Mask)
			}
		}
	}
	return ""
}
