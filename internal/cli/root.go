package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/lakegate/lakegate/internal/cli.Version=…".
var Version = "dev"

// ExitError carries a specific exit code (1 means "denied" for authorize).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode maps an error from Execute to the process exit code.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return 2
}

// NewRoot builds the lakegate command tree.
func NewRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "lakegate",
		Short:         "lakegate: open, Okera-compatible access control for data lakes",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionString(),
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().String("log-level", "info", "log level: debug, info, warn, error (env LAKEGATE_LOG_LEVEL)")
	root.PersistentFlags().String("log-format", "text", "log format: text or json (env LAKEGATE_LOG_FORMAT)")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if err := applyEnv(cmd); err != nil {
			return err
		}
		return setupLogging(cmd, stderr)
	}
	root.AddCommand(newServe(), newKeygen(), newToken(), newSQL(), newAuthorize(), newWhoAmI(), newAudit(), newStore(), newDatabricks(), newEnsemble(), newVersion())
	return root
}

func setupLogging(cmd *cobra.Command, w io.Writer) error {
	lvl, _ := cmd.Flags().GetString("log-level")
	format, _ := cmd.Flags().GetString("log-format")
	var level slog.Level
	if err := level.UnmarshalText([]byte(lvl)); err != nil {
		return fmt.Errorf("--log-level %q: use debug, info, warn or error", lvl)
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch format {
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return fmt.Errorf("--log-format %q: use text or json", format)
	}
	slog.SetDefault(slog.New(h))
	return nil
}

func versionString() string {
	v := Version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}

func newVersion() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the lakegate version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "lakegate", versionString())
			return err
		},
	}
}
