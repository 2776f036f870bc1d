package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Every flag falls back to an environment variable: LAKEGATE_<FLAG> with
// dashes as underscores (--data-dir → LAKEGATE_DATA_DIR), or the Okera name
// listed in envAliases. A flag given on the command line wins.
var envAliases = map[string][]string{
	"planner": {"OKERA_PLANNER", "LAKEGATE_PLANNER"},
	"token":   {"OKERA_TOKEN", "LAKEGATE_TOKEN"},
}

// EnvNames lists the environment variables that set flag name.
func EnvNames(name string) []string {
	if a, ok := envAliases[name]; ok {
		return a
	}
	return []string{"LAKEGATE_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))}
}

func applyEnv(cmd *cobra.Command) error {
	var err error
	visit := func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" {
			return
		}
		for _, env := range EnvNames(f.Name) {
			v, ok := os.LookupEnv(env)
			if !ok || v == "" {
				continue
			}
			if sv, isSlice := f.Value.(pflag.SliceValue); isSlice {
				if e := sv.Replace(splitList(v)); e != nil {
					err = fmt.Errorf("environment variable %s: %w", env, e)
				}
			} else if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("environment variable %s=%q: %w", env, v, e)
			}
			return
		}
	}
	cmd.Flags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	return err
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
