package cli

import (
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	"github.com/lakegate/lakegate/gen/lakegate/v1/lakegatev1connect"
	"github.com/lakegate/lakegate/internal/plannerclient"
)

// clientFlags are the flags of every command that talks to a planner.
type clientFlags struct {
	planner string
	token   string
	timeout time.Duration
}

func (c *clientFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.planner, "planner", "127.0.0.1:12050", "planner HOST:PORT (env OKERA_PLANNER; port 12050 when omitted)")
	f.StringVar(&c.token, "token", "", "JWT to authenticate with (env OKERA_TOKEN)")
	f.DurationVar(&c.timeout, "timeout", 30*time.Second, "request timeout")
}

func (c *clientFlags) client() (lakegatev1connect.PlannerServiceClient, string, error) {
	if c.token == "" {
		return nil, "", errors.New("no token: pass --token JWT or set OKERA_TOKEN (make one with 'lakegate token')")
	}
	return plannerclient.New(c.planner, c.token, c.timeout)
}

// explain turns a client error into a message that says where and why.
func explain(base string, err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
		switch ce.Code() {
		case connect.CodeUnavailable:
			return fmt.Errorf("the planner at %s could not be reached: %s", base, ce.Message())
		case connect.CodeUnauthenticated:
			return fmt.Errorf("the planner at %s refused the token: %s", base, ce.Message())
		}
		return fmt.Errorf("%s: %s", ce.Code(), ce.Message())
	}
	return fmt.Errorf("planner at %s: %w", base, err)
}
