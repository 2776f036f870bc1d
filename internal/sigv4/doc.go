// Package sigv4 verifies AWS Signature Version 4 on S3 requests as a
// server: the Authorization header form and presigned URLs, signed,
// UNSIGNED-PAYLOAD and streaming (aws-chunked) payloads.
//
// Verify takes the request as it arrived at the server (the raw request
// target, r.Host and the headers) and a function that finds the secret of an
// access key. It checks, in this order: the form of the credential and the
// signed headers; the request time against the clock (15 minutes of skew,
// RequestTimeTooSkewed), or the expiry of a presigned URL; the signature over
// the canonical request; that every x-amz-* header present is signed. It
// then returns the request's body wrapped so that reading it verifies the
// payload: a signed payload's SHA-256, or each chunk signature of a streaming
// payload (and the signed trailer and its checksums), in constant memory.
// A body that does not verify returns an error before its last byte, so a
// reader that forwards it never forwards a complete, unverified body.
//
// Canonicalisation follows the S3 flavour of SigV4: the canonical URI is the
// path as sent (S3 does not normalise it); because clients encode paths in
// slightly different ways, the AWS encoding of the decoded path is tried as
// well, and both decode to the same key. The canonical query is every
// parameter but X-Amz-Signature, decoded and encoded again the AWS way,
// sorted. Header values are trimmed and inner runs of spaces collapsed, and
// repeated headers joined with commas. The test suite signs thousands of
// random requests with the AWS SDK for Go's signer and verifies them here.
//
// Every refusal is an *Error carrying the S3 error code and HTTP status that
// S3 clients understand (SignatureDoesNotMatch, InvalidAccessKeyId,
// AccessDenied, RequestTimeTooSkewed, AuthorizationHeaderMalformed, …).
// Secrets and signatures are never part of a message.
package sigv4
