package cli

import (
	"fmt"
	"strings"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	lakegatev1 "github.com/lakegate/lakegate/gen/lakegate/v1"
)

func newWhoAmI() *cobra.Command {
	var (
		cf     clientFlags
		output string
	)
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Print the user, groups and roles the planner sees for the token",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, base, err := cf.client()
			if err != nil {
				return err
			}
			resp, err := cl.WhoAmI(cmd.Context(), connect.NewRequest(&lakegatev1.WhoAmIRequest{Client: "lakegate-cli"}))
			if err != nil {
				return explain(base, err)
			}
			m := resp.Msg
			if output == "json" {
				return printJSON(cmd.OutOrStdout(), m)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "user:   %s\n", m.User)
			fmt.Fprintf(w, "groups: %s\n", strings.Join(groupsWithSources(m), ", "))
			fmt.Fprintf(w, "roles:  %s\n", strings.Join(m.Roles, ", "))
			fmt.Fprintf(w, "admin:  %t\n", m.IsAdmin)
			if m.SelfSigned {
				fmt.Fprintln(w, "WARNING: self-signed token: the planner runs with --insecure-accept-self-signed and cannot vouch for this identity")
			}
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// groupsWithSources renders each group with where it came from, "analysts
// (ldap)", when the planner says; a group from two sources once per source.
func groupsWithSources(m *lakegatev1.WhoAmIResponse) []string {
	if len(m.GroupSources) == 0 {
		return m.Groups
	}
	out := make([]string, len(m.GroupSources))
	for i, g := range m.GroupSources {
		out[i] = g.Group + " (" + g.Source + ")"
	}
	return out
}
