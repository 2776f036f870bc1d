// Package s3keys issues and checks the per-user S3 access keys of the
// ensemble proxy.
//
// A user exchanges a valid JWT for an access key id and secret. Nothing about
// a key is stored: the access key id is self-contained and the secret is
// derived from it, both with a server-side master key.
//
//   - The access key id is "LG" followed by base32 (A-Z, 2-7) of: a version
//     byte, the 4-byte id of the master key, a 12-byte random nonce, and,
//     sealed with AES-256-GCM under a key derived from the master key, the
//     issue and expiry times, the user and the user's groups. It is opaque to
//     whoever sees it (presigned URLs get shared), and it cannot be forged or
//     altered: opening it fails.
//   - The secret is HMAC-SHA256(K, access key id) with K derived from the
//     master key, encoded as 40 characters of unpadded base64url. Only the
//     holder of the master key can compute it, so the proxy verifies a
//     request's signature without any secret being stored in clear text.
//
// Keys are short-lived (Issue caps the lifetime) and revocable: a revoked key
// id, or every key of a user issued before a given time, is recorded in a
// small file (Revocations) in the proxy's data directory, written atomically
// under a file lock so that proxies sharing the directory agree. An expired
// entry is pruned. If that file cannot be read, every key counts as revoked:
// the check fails closed.
//
// Several master keys may be configured: the first signs new keys, all of
// them verify, so a master key can be rotated without cutting users off.
// Master keys are read from files or the environment and are never logged.
package s3keys
