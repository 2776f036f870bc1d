package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/lakegate/lakegate/internal/audit"
)

func newAudit() *cobra.Command {
	var (
		dataDir string
		since   string
		q       audit.Query
	)
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Print audit records (JSON lines) from a planner's data directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if since != "" {
				t, err := parseSince(since, time.Now())
				if err != nil {
					return err
				}
				q.Since = t
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			return audit.Read(filepath.Join(dataDir, "audit"), q, func(r audit.Record) error { return enc.Encode(r) })
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", "lakegate-data", "the planner's data directory")
	f.StringVar(&q.User, "user", "", "only records of this user")
	f.StringVar(&since, "since", "", "only records from this time on: RFC 3339 (2026-11-28T10:00:00Z) or a duration ago (1h)")
	f.BoolVar(&q.DeniedOnly, "denied", false, "only denials and authentication failures")
	f.IntVar(&q.Limit, "limit", 0, "at most this many records (0: all)")
	return cmd
}

func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q: use RFC 3339 (2026-11-28T10:00:00Z) or a duration such as 1h", s)
}
