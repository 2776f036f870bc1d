// Command lakegate is the planner, its CLI clients and tools.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/lakegate/lakegate/internal/cli"
)

func main() {
	root := cli.NewRoot(os.Stdout, os.Stderr)
	if err := root.ExecuteContext(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "lakegate:", err)
		os.Exit(cli.ExitCode(err))
	}
}
