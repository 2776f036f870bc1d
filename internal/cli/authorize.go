package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	lakegatev1 "github.com/lakegate/lakegate/gen/lakegate/v1"
)

func newAuthorize() *cobra.Command {
	var (
		cf        clientFlags
		table     string
		uri       string
		columns   []string
		action    string
		view      bool
		sessionID string
		output    string
	)
	cmd := &cobra.Command{
		Use:   "authorize --table DB.TABLE [--columns a,b] | --uri URI",
		Short: "Ask the planner for a decision and print it as JSON (exit code 1 when denied)",
		Long: `Ask the planner what the token's user may do with one table, view or URI, exactly
as an engine would, and print the decision as JSON. Without --columns the columns
the planner knows for the table are sent. Exits 1 when the decision is a denial.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			obj := &lakegatev1.AuthObject{IsView: view}
			switch {
			case (table == "") == (uri == ""):
				return errors.New("give exactly one of --table DB.TABLE or --uri URI")
			case uri != "":
				obj.Uri = uri
			default:
				db, t, ok := strings.Cut(table, ".")
				if !ok || db == "" || t == "" {
					return fmt.Errorf("--table %q: use DB.TABLE", table)
				}
				obj.Database, obj.Table = db, t
			}
			act, ok := lakegatev1.Action_value["ACTION_"+strings.ToUpper(action)]
			if !ok || act == 0 {
				return fmt.Errorf("--action %q: use SELECT, INSERT, CREATE, ALTER, DROP, SHOW or ALL", action)
			}
			if view && (lakegatev1.Action(act) == lakegatev1.Action_ACTION_CREATE || lakegatev1.Action(act) == lakegatev1.Action_ACTION_ALTER) {
				// An allowed CREATE or ALTER of a view is recorded by the
				// planner, with the caller as its definer: not a question.
				return fmt.Errorf("--view with --action %s would define the view, with you as its definer and nothing it reads; "+
					"leave out --view to ask whether you may %s it, and define views with CREATE VIEW through an engine", strings.ToUpper(action), strings.ToUpper(action))
			}
			cl, base, err := cf.client()
			if err != nil {
				return err
			}
			for _, c := range columns {
				obj.Columns = append(obj.Columns, &lakegatev1.Column{Name: c})
			}
			resp, err := cl.Authorize(cmd.Context(), connect.NewRequest(&lakegatev1.AuthorizeRequest{
				SessionId: sessionID, Client: "lakegate-cli", Action: lakegatev1.Action(act),
				Objects: []*lakegatev1.AuthObject{obj},
			}))
			if err != nil {
				return explain(base, err)
			}
			switch output {
			case "json":
				err = printJSON(cmd.OutOrStdout(), resp.Msg)
			case "text":
				err = printDecisions(cmd.OutOrStdout(), resp.Msg)
			default:
				err = fmt.Errorf("--output %q: use json or text", output)
			}
			if err != nil {
				return err
			}
			for _, d := range resp.Msg.Decisions {
				if !d.Allowed {
					return &ExitError{Code: 1, Err: fmt.Errorf("denied: %s", d.Reason)}
				}
			}
			return nil
		},
	}
	cf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&table, "table", "", "table or view as DB.TABLE")
	f.StringVar(&uri, "uri", "", "storage URI (s3://bucket/path, file:///path)")
	f.StringSliceVar(&columns, "columns", nil, "comma-separated columns to ask about (default: those the planner knows)")
	f.StringVar(&action, "action", "SELECT", "privilege needed: SELECT, INSERT, CREATE, ALTER, DROP, SHOW or ALL")
	f.BoolVar(&view, "view", false, "the object is a view")
	f.StringVar(&sessionID, "session-id", "", "client session id")
	f.StringVarP(&output, "output", "o", "json", "output format: json or text")
	return cmd
}

func printDecisions(w io.Writer, r *lakegatev1.AuthorizeResponse) error {
	for _, d := range r.Decisions {
		if !d.Allowed {
			fmt.Fprintf(w, "DENIED  %s\n  %s\n", d.Object, d.Reason)
			continue
		}
		fmt.Fprintf(w, "ALLOWED %s for %s (%s)\n", d.Object, r.User, d.Reason)
		for _, c := range d.Columns {
			fmt.Fprintf(w, "  %-12s %s\n", c.Name, columnText(c))
		}
		if d.RowFilter != "" {
			fmt.Fprintf(w, "  rows where   %s\n", d.RowFilter)
		} else {
			fmt.Fprintf(w, "  rows         all\n")
		}
	}
	return nil
}

func maskText(m *lakegatev1.Mask) string {
	return m.GetFunction() + "(" + strings.Join(m.GetArgs(), ", ") + ")"
}

func columnText(c *lakegatev1.ColumnDecision) string {
	switch c.Action {
	case lakegatev1.ColumnAction_COLUMN_ACTION_VISIBLE:
		return "visible"
	case lakegatev1.ColumnAction_COLUMN_ACTION_MASKED:
		return "masked with " + maskText(c.Mask)
	case lakegatev1.ColumnAction_COLUMN_ACTION_REMOVED:
		return "removed"
	case lakegatev1.ColumnAction_COLUMN_ACTION_CONDITIONAL:
		var parts []string
		for _, cs := range c.Cases {
			t := "visible"
			if cs.Action == lakegatev1.ColumnAction_COLUMN_ACTION_MASKED {
				t = maskText(cs.Mask)
			}
			parts = append(parts, "when "+cs.Condition+": "+t)
		}
		return strings.Join(parts, "; ") + "; else NULL"
	}
	return c.Action.String()
}
