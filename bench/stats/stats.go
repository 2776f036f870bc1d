// Package stats summarises latency samples for the benchmark programs.
package stats

import (
	"fmt"
	"slices"
	"time"
)

// Summary is a set of latency samples, summarised.
type Summary struct {
	N                   int
	Mean, P50, P90, P99 time.Duration
	Min, Max            time.Duration
}

// Of summarises samples (which it sorts in place).
func Of(samples []time.Duration) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	slices.Sort(samples)
	var sum time.Duration
	for _, s := range samples {
		sum += s
	}
	return Summary{
		N:    len(samples),
		Mean: sum / time.Duration(len(samples)),
		P50:  Percentile(samples, 50),
		P90:  Percentile(samples, 90),
		P99:  Percentile(samples, 99),
		Min:  samples[0],
		Max:  samples[len(samples)-1],
	}
}

// Percentile returns the p-th percentile (nearest rank) of sorted samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.5) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

// D formats a duration in microseconds or milliseconds with 3 significant
// figures, for tables.
func D(d time.Duration) string {
	switch {
	case d < 10*time.Microsecond:
		return fmt.Sprintf("%.2f µs", float64(d)/1e3)
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// Met renders a target check.
func Met(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
