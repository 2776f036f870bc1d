package ensemble

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"

	lakegatev1 "github.com/lakegate/lakegate/gen/lakegate/v1"
	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/s3keys"
)

// The proxy's own endpoints live under this prefix, on path-style requests
// only: no S3 bucket name can start with '_'.
const (
	controlPrefix   = "/_lakegate/"
	CredentialsPath = controlPrefix + "credentials"
	RevokePath      = controlPrefix + "revoke"
	HealthPath      = controlPrefix + "healthz"
)

// CredentialsResponse is the answer of the credentials endpoint, in the
// format of the AWS CLI's credential_process (Version 1) plus the user.
type CredentialsResponse struct {
	Version         int      `json:"Version"`
	AccessKeyID     string   `json:"AccessKeyId"`
	SecretAccessKey string   `json:"SecretAccessKey"`
	Expiration      string   `json:"Expiration"`
	User            string   `json:"User"`
	Groups          []string `json:"Groups"`
}

// RevokeRequest asks to revoke one access key, or every key of a user
// (both empty: every key of the caller).
type RevokeRequest struct {
	AccessKeyID string `json:"accessKeyId,omitempty"`
	User        string `json:"user,omitempty"`
}

type jsonError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func bearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// fingerprint names an access key in logs and the audit log without
// spelling it out.
func fingerprint(id string) string {
	s := sha256.Sum256([]byte(id))
	return "sha256:" + hex.EncodeToString(s[:6])
}

func (s *Server) control(w http.ResponseWriter, r *http.Request, rawPath string) {
	switch rawPath {
	case HealthPath:
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	case CredentialsPath:
		s.credentials(w, r)
	case RevokePath:
		s.revoke(w, r)
	default:
		writeJSON(w, http.StatusNotFound, jsonError{"no such lakegate endpoint; see " + CredentialsPath + ", " + RevokePath + ", " + HealthPath})
	}
}

// whoami verifies a user's token with the planner, which is the one place
// that knows how tokens are verified.
func (s *Server) whoami(ctx context.Context, tok string) (*lakegatev1.WhoAmIResponse, int, error) {
	ctx = context.WithValue(ctx, userTokenKey{}, tok)
	resp, err := s.planner.WhoAmI(ctx, connect.NewRequest(&lakegatev1.WhoAmIRequest{Client: "lakegate-ensemble credentials"}))
	if err != nil {
		var ce *connect.Error
		if errors.As(err, &ce) && ce.Code() == connect.CodeUnauthenticated {
			return nil, http.StatusUnauthorized, errors.New(ce.Message())
		}
		s.log.Error("the planner could not verify a token", "err", err)
		return nil, http.StatusServiceUnavailable, errors.New("the planner could not be asked to verify the token; try again later")
	}
	if resp.Msg.SelfSigned && !s.cfg.AcceptSelfSigned {
		return nil, http.StatusForbidden, errors.New("the token is self-signed (the planner runs in an insecure proof-of-concept mode); the ensemble issues access keys for such tokens only when started with --insecure-accept-self-signed")
	}
	return resp.Msg, 0, nil
}

func (s *Server) controlRecord(r *http.Request, kind string, start time.Time) audit.Record {
	return audit.Record{RequestTime: start.UTC(), RequestID: newRequestID(), StatementType: kind,
		ClientApplication: "lakegate-ensemble", ClientNetworkAddress: r.RemoteAddr}
}

// controlDone ends a control request: the audit record gets its outcome and latency and is
// written, then the answer is sent. rec is read when called, so fields set later count.
func (s *Server) controlDone(w http.ResponseWriter, rec *audit.Record, start time.Time) func(status int, outcome, reason string, v any) {
	return func(status int, outcome, reason string, v any) {
		rec.Outcome, rec.Reason, rec.LatencyUS = outcome, reason, time.Since(start).Microseconds()
		s.audit.Write(*rec)
		writeJSON(w, status, v)
	}
}

// control is one request to a control endpoint: its audit record, the
// function that ends it (controlDone) and the caller's bearer token.
type control struct {
	start time.Time
	rec   audit.Record
	done  func(status int, outcome, reason string, v any)
	tok   string
}

// beginControl starts a control request, which must be a POST with a bearer
// token (whose names it in the error); ok is false when it was answered.
func (s *Server) beginControl(w http.ResponseWriter, r *http.Request, kind, whose string) (c *control, ok bool) {
	start := s.now()
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, jsonError{"use POST"})
		return nil, false
	}
	c = &control{start: start, rec: s.controlRecord(r, kind, start), tok: bearer(r)}
	c.done = s.controlDone(w, &c.rec, start)
	if c.tok == "" {
		c.done(http.StatusUnauthorized, audit.OutcomeDenied, "no bearer token", jsonError{"send " + whose + " JWT as 'Authorization: Bearer <token>'"})
		return nil, false
	}
	return c, true
}

// caller verifies the control request's token with the planner and puts its
// user in the audit record; ok is false when the request was answered.
func (s *Server) caller(r *http.Request, c *control) (who *lakegatev1.WhoAmIResponse, ok bool) {
	who, status, err := s.whoami(r.Context(), c.tok)
	if err != nil {
		c.rec.AuthFailure = "token_refused"
		c.done(status, audit.OutcomeDenied, err.Error(), jsonError{err.Error()})
		return nil, false
	}
	c.rec.User, c.rec.Groups = who.User, who.Groups
	return who, true
}

func (s *Server) credentials(w http.ResponseWriter, r *http.Request) {
	c, ok := s.beginControl(w, r, "CREDENTIALS", "the user's")
	if !ok {
		return
	}
	start, rec, done := c.start, &c.rec, c.done
	ttl := s.cfg.CredentialsTTL
	if v := r.URL.Query().Get("ttl"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			done(http.StatusBadRequest, audit.OutcomeError, "bad ttl", jsonError{"ttl must be a positive duration such as 30m or 2h"})
			return
		}
		ttl = d
	}
	who, ok := s.caller(r, c)
	if !ok {
		return
	}
	creds, err := s.keys.Issue(who.User, who.Groups, ttl, start)
	if err != nil {
		done(http.StatusBadRequest, audit.OutcomeError, err.Error(), jsonError{err.Error()})
		return
	}
	rec.Statement = "issue access key " + fingerprint(creds.AccessKeyID)
	done(http.StatusOK, audit.OutcomeOK, "expires "+creds.Expiration.UTC().Format(time.RFC3339), CredentialsResponse{
		Version: 1, AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey,
		Expiration: creds.Expiration.UTC().Format(time.RFC3339), User: creds.User, Groups: creds.Groups,
	})
	s.log.Info("access key issued", "user", who.User, "key", fingerprint(creds.AccessKeyID), "expires", creds.Expiration.UTC())
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	c, ok := s.beginControl(w, r, "REVOKE", "your")
	if !ok {
		return
	}
	start, rec, done := c.start, &c.rec, c.done
	var req RevokeRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil && err != io.EOF {
		done(http.StatusBadRequest, audit.OutcomeError, "bad body", jsonError{`the body must be {"accessKeyId": "..."} or {"user": "..."}`})
		return
	}
	who, ok := s.caller(r, c)
	if !ok {
		return
	}
	rev := s.keys.Revocations()
	switch {
	case req.AccessKeyID != "":
		rec.Statement = "revoke access key " + fingerprint(req.AccessKeyID)
		id, _, err := s.keys.Lookup(req.AccessKeyID)
		if err != nil {
			done(http.StatusNotFound, audit.OutcomeError, "unknown key", jsonError{s3keys.ErrUnknown.Error()})
			return
		}
		if id.User != who.User && !who.IsAdmin {
			done(http.StatusForbidden, audit.OutcomeDenied, "not the key's owner", jsonError{"only the key's owner or an admin may revoke it"})
			return
		}
		if err := rev.RevokeKey(req.AccessKeyID, id.ExpiresAt, start); err != nil {
			done(http.StatusInternalServerError, audit.OutcomeError, err.Error(), jsonError{"the revocation could not be recorded"})
			return
		}
	default:
		user := req.User
		if user == "" {
			user = who.User
		}
		rec.Statement = "revoke every access key of " + user
		if user != who.User && !who.IsAdmin {
			done(http.StatusForbidden, audit.OutcomeDenied, "not an admin", jsonError{"only admins may revoke another user's keys"})
			return
		}
		if err := rev.RevokeUser(user, start); err != nil {
			done(http.StatusInternalServerError, audit.OutcomeError, err.Error(), jsonError{"the revocation could not be recorded"})
			return
		}
	}
	done(http.StatusOK, audit.OutcomeOK, "", map[string]string{"revoked": strings.TrimPrefix(rec.Statement, "revoke ")})
	s.log.Info("access keys revoked", "by", who.User, "what", rec.Statement)
}
