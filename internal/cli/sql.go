package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	lakegatev1 "github.com/lakegate/lakegate/gen/lakegate/v1"
)

func newSQL() *cobra.Command {
	var (
		cf     clientFlags
		output string
		file   string
	)
	cmd := &cobra.Command{
		Use:   `sql [flags] "STATEMENTS"`,
		Short: "Run policy statements (CREATE ROLE, GRANT, SHOW GRANTS, …) on the planner",
		Long: `Run one or more policy statements separated by ';'. Read them from the argument,
from --file, or from standard input with '-'. A statement that fails changes nothing,
and neither do the others of the same call.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			text, err := statements(cmd, args, file)
			if err != nil {
				return err
			}
			if output != "table" && output != "json" {
				return fmt.Errorf("--output %q: use table or json", output)
			}
			cl, base, err := cf.client()
			if err != nil {
				return err
			}
			resp, err := cl.ExecuteSql(cmd.Context(), connect.NewRequest(&lakegatev1.ExecuteSqlRequest{Sql: text, Client: "lakegate-cli"}))
			if err != nil {
				return explain(base, err)
			}
			if output == "json" {
				return printJSON(cmd.OutOrStdout(), resp.Msg)
			}
			return printResults(cmd.OutOrStdout(), resp.Msg.Results)
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	cmd.Flags().StringVarP(&file, "file", "f", "", "read the statements from this file")
	return cmd
}

func statements(cmd *cobra.Command, args []string, file string) (string, error) {
	switch {
	case file != "" && len(args) > 0:
		return "", errors.New("give the statements either as an argument or with --file, not both")
	case file != "":
		b, err := os.ReadFile(file)
		return string(b), err
	case len(args) == 1 && args[0] == "-":
		b, err := io.ReadAll(cmd.InOrStdin())
		return string(b), err
	case len(args) == 1:
		return args[0], nil
	}
	return "", errors.New(`no statements: lakegate sql "CREATE ROLE analyst; SHOW ROLES"`)
}

func printJSON(w io.Writer, m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  ", EmitUnpopulated: false}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

func printResults(w io.Writer, results []*lakegatev1.StatementResult) error {
	for i, r := range results {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if len(r.Columns) == 0 {
			fmt.Fprintln(w, r.Message)
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(r.Columns, "\t"))
		seps := make([]string, len(r.Columns))
		for j, c := range r.Columns {
			seps[j] = strings.Repeat("-", len(c))
		}
		fmt.Fprintln(tw, strings.Join(seps, "\t"))
		for _, row := range r.Rows {
			fmt.Fprintln(tw, strings.Join(row.Values, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(r.Rows) == 1 {
			fmt.Fprintln(w, "(1 row)")
		} else {
			fmt.Fprintf(w, "(%d rows)\n", len(r.Rows))
		}
	}
	return nil
}
