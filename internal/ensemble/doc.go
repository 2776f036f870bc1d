// Package ensemble is lakegate's S3 file-access proxy (lakegate ensemble):
// an S3-compatible endpoint that lets a request through to the real store
// only when the policy grants its user the URI it touches.
//
// For every request it: verifies the SigV4 signature (internal/sigv4) with
// the secret of the user's access key (internal/s3keys) and checks the key
// is neither expired nor revoked; understands the request as one S3
// operation and the URI checks it needs (GetObject s3://b/k needs SELECT,
// PutObject INSERT, DeleteObject DROP, a listing SELECT on the prefix's
// directory, CopyObject INSERT on the target and SELECT on the source, …;
// anything it does not understand is refused); asks the planner for those
// decisions on behalf of the user (AuthorizeOnBehalf, which only a trusted
// proxy may call), through a short cache keyed by policy version; writes an
// audit record; and, when every check is allowed, re-signs the request with
// the upstream credentials (the AWS SDK's v4 signer) and streams bodies in
// both directions with constant memory.
//
// It fails closed: no planner answer, an unreadable revocation list or an
// unknown operation refuses the request with an S3 XML error, never data.
//
// Users exchange a JWT for an access key at POST /_lakegate/credentials (the
// planner verifies the token through WhoAmI) and revoke keys at POST
// /_lakegate/revoke. These endpoints answer path-style requests only; no
// bucket name can start with '_'. See docs/ensemble.md.
package ensemble
