package planner

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
)

type requestIDKey struct{}

func requestID(ctx context.Context) string {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		return id
	}
	return uuid.NewString()
}

// observe assigns each request an id (returned in the X-Request-Id header),
// and counts and times it.
func (s *Server) observe() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			start := time.Now()
			id := uuid.NewString()
			ctx = context.WithValue(ctx, requestIDKey{}, id)
			method := req.Spec().Procedure
			resp, err := next(ctx, req)
			code := "ok"
			if err != nil {
				code = connect.CodeOf(err).String()
				var ce *connect.Error
				if errors.As(err, &ce) {
					ce.Meta().Set("X-Request-Id", id)
				}
			} else {
				resp.Header().Set("X-Request-Id", id)
			}
			s.metrics.requests.WithLabelValues(method, code).Inc()
			s.metrics.latency.WithLabelValues(method).Observe(time.Since(start).Seconds())
			return resp, err
		}
	}
}
