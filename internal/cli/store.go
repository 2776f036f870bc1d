package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/planner"
	"github.com/lakegate/lakegate/internal/store/sqlite"
)

func newStore() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Back up, verify and restore a planner's embedded policy store",
	}
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", "lakegate-data", "the planner's data directory")

	var out string
	backup := &cobra.Command{
		Use:   "backup --out FILE",
		Short: "Write a consistent, verified copy of the store to FILE (safe while the planner runs)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("--out FILE is required")
			}
			v, err := sqlite.Backup(cmd.Context(), dataDir, out)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "backed up policy version %d of %s to %s (%s)\n",
				v, filepath.Join(dataDir, sqlite.FileName), out, size(out))
			return err
		},
	}
	backup.Flags().StringVar(&out, "out", "", "the backup file to write (must not exist)")

	verify := &cobra.Command{
		Use:   "verify [FILE]",
		Short: "Check that a store (the data directory's, or a backup FILE) is whole, and print its policy version",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := filepath.Join(dataDir, sqlite.FileName)
			if len(args) == 1 {
				path = args[0]
			}
			v, err := sqlite.Verify(cmd.Context(), path)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: whole, policy version %d\n", path, v)
			return err
		},
	}

	var from string
	restore := &cobra.Command{
		Use:   "restore --from FILE",
		Short: "Replace the store with a backup (the planner must be stopped; the current store is kept aside)",
		Long: "Replace the store with a backup. The planner must be stopped: restore takes its lock and refuses while it runs. " +
			"The backup is verified first; the current store is moved aside (lakegate.db.replaced-TIME, with its -wal and -shm) " +
			"and kept. The planner's record of the last committed policy version is set to the backup's, so the planner " +
			"starts on it without --accept-policy-rollback: every change made after the backup is gone, REVOKEs included.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				return errors.New("--from FILE is required")
			}
			auditDir := planner.AuditDir(dataDir)
			unlock, err := audit.Lock(auditDir)
			if errors.Is(err, audit.ErrLocked) {
				return fmt.Errorf("a planner is running on %s (it holds %s): stop it first", dataDir, auditDir)
			}
			if err != nil {
				return err
			}
			defer unlock()
			v, movedTo, err := sqlite.Restore(cmd.Context(), dataDir, from)
			if err != nil {
				return err
			}
			old, err := planner.ResetWatermark(auditDir, v)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "restored policy version %d from %s into %s\n", v, from, filepath.Join(dataDir, sqlite.FileName))
			if movedTo != "" {
				fmt.Fprintf(w, "the replaced store is kept at %s\n", movedTo)
			}
			if old > v {
				fmt.Fprintf(w, "the planner had committed up to version %d: the %d changes after version %d are undone\n", old, old-v, v)
			}
			return nil
		},
	}
	restore.Flags().StringVar(&from, "from", "", "the backup file to restore")

	cmd.AddCommand(backup, verify, restore)
	return cmd
}

func size(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "size unknown"
	}
	return fmt.Sprintf("%d bytes", fi.Size())
}
