// Package plannerclient is a Go client of the planner's PlannerService,
// used by the CLI (and by other lakegate parts that ask the planner).
package plannerclient

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/lakegate/lakegate/gen/lakegate/v1/lakegatev1connect"
)

// DefaultPort is the planner's port when an address names none.
const DefaultPort = "12050"

// BaseURL turns "host", "host:port" or a URL into the planner's base URL.
func BaseURL(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return "", fmt.Errorf("no planner address: pass --planner HOST:PORT or set OKERA_PLANNER")
	}
	scheme := "http"
	if i := strings.Index(addr, "://"); i >= 0 {
		scheme, addr = addr[:i], addr[i+3:]
		if scheme != "http" && scheme != "https" {
			return "", fmt.Errorf("planner address %q: scheme must be http or https", addr)
		}
	}
	addr = strings.TrimSuffix(addr, "/")
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), DefaultPort)
	}
	return scheme + "://" + addr, nil
}

// New returns a client that sends token as a bearer token on every call.
func New(addr, token string, timeout time.Duration) (lakegatev1connect.PlannerServiceClient, string, error) {
	base, err := BaseURL(addr)
	if err != nil {
		return nil, "", err
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	hc := &http.Client{Timeout: timeout}
	auth := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if token != "" {
				req.Header().Set("Authorization", "Bearer "+token)
			}
			return next(ctx, req)
		}
	})
	return lakegatev1connect.NewPlannerServiceClient(hc, base, connect.WithInterceptors(auth)), base, nil
}
