package sigv4

import (
	"bufio"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Limits of streaming payloads.
const (
	maxChunkLine    = 4096 // a chunk header or trailer line
	maxTrailerLines = 16
)

// BodyError reports whether err (from reading Verified.Body) says the payload
// did not verify, and returns that error.
func BodyError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

func (v *Verified) setBody(r *http.Request, a *authInfo, key []byte) error {
	body := r.Body
	if body == nil {
		body = http.NoBody
	}
	length := r.ContentLength
	switch v.Payload {
	case StreamingPayload, StreamingPayloadTrailer, StreamingUnsignedTrailer:
		if a.presigned {
			return newErr(http.StatusBadRequest, CodeInvalidRequest, "streaming payloads need the Authorization header")
		}
		dl := r.Header.Get("X-Amz-Decoded-Content-Length")
		n, err := strconv.ParseInt(dl, 10, 64)
		if dl == "" || err != nil || n < 0 || dl[0] == '+' {
			return newErr(http.StatusLengthRequired, CodeMissingContentLength, "a streaming payload needs x-amz-decoded-content-length")
		}
		cr := &chunkReader{
			src: bufio.NewReaderSize(body, 64<<10), body: body,
			signed: v.Payload != StreamingUnsignedTrailer, key: key, amzDate: a.amzDate, scope: a.scope(),
			prev: a.signature, decodedLen: n, release: true,
		}
		if v.Payload != StreamingPayload {
			names := splitList(r.Header.Get("X-Amz-Trailer"))
			if len(names) == 0 {
				return newErr(http.StatusBadRequest, CodeInvalidRequest, "a payload with a trailer needs the x-amz-trailer header")
			}
			cr.sums = map[string]hash.Hash{}
			for _, name := range names {
				h := checksumHash(name)
				if h == nil {
					return newErr(http.StatusBadRequest, CodeInvalidRequest, "unsupported trailer %q: only x-amz-checksum-crc32, -crc32c, -crc64nvme, -sha1 and -sha256", clip(name))
				}
				if _, dup := cr.sums[name]; dup {
					return newErr(http.StatusBadRequest, CodeInvalidRequest, "x-amz-trailer names %s twice", name)
				}
				cr.sums[name] = h
				cr.trailerNames = append(cr.trailerNames, name)
			}
		}
		v.Body, v.ContentLength, v.Chunked = cr, n, true
	case UnsignedPayload:
		if length < 0 {
			return newErr(http.StatusLengthRequired, CodeMissingContentLength, "You must provide the Content-Length HTTP header.")
		}
		v.Body, v.ContentLength = body, length
	default: // hex SHA-256
		switch {
		case length < 0:
			return newErr(http.StatusLengthRequired, CodeMissingContentLength, "You must provide the Content-Length HTTP header.")
		case length == 0:
			if v.Payload != EmptySHA256 {
				return newErr(http.StatusBadRequest, CodeContentSHA256Mismatch, "The provided 'x-amz-content-sha256' header does not match what was computed.")
			}
			v.Body, v.ContentLength = http.NoBody, 0
		default:
			v.Body, v.ContentLength = &hashReader{r: body, h: sha256.New(), want: v.Payload, left: length}, length
		}
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
	}
	return out
}

var crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5)

func checksumHash(name string) hash.Hash {
	switch name {
	case "x-amz-checksum-crc32":
		return crc32.NewIEEE()
	case "x-amz-checksum-crc32c":
		return crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case "x-amz-checksum-crc64nvme":
		return crc64.New(crc64NVME)
	case "x-amz-checksum-sha1":
		return sha1.New()
	case "x-amz-checksum-sha256":
		return sha256.New()
	}
	return nil
}

func incomplete() *Error {
	return newErr(http.StatusBadRequest, CodeIncompleteBody, "You did not provide the number of bytes specified by the Content-Length HTTP header")
}

// hashReader passes a body through and, when its last byte arrives, checks
// its SHA-256; on a mismatch it returns the error instead of those bytes.
type hashReader struct {
	r    io.ReadCloser
	h    hash.Hash
	want string
	left int64
	err  error
}

func (h *hashReader) Read(p []byte) (int, error) {
	if h.err != nil {
		return 0, h.err
	}
	if h.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > h.left {
		p = p[:h.left]
	}
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.left -= int64(n)
	if h.left == 0 {
		if hex.EncodeToString(h.h.Sum(nil)) != h.want {
			h.err = newErr(http.StatusBadRequest, CodeContentSHA256Mismatch, "The provided 'x-amz-content-sha256' header does not match what was computed.")
			return 0, h.err
		}
		return n, nil
	}
	if err == io.EOF {
		h.err = incomplete()
		return 0, h.err
	}
	return n, err
}

func (h *hashReader) Close() error { return h.r.Close() }

// chunkReader decodes an aws-chunked body, checking every chunk signature
// (and the signed trailer, and the trailing checksums) as it streams. The
// last byte of each chunk is held back until the chunk's signature checks
// out, and the last byte of the payload until the final chunk and the
// trailer do, so a consumer never sees a complete body that did not verify.
type chunkReader struct {
	src                  *bufio.Reader
	body                 io.Closer
	signed               bool
	key                  []byte
	amzDate, scope, prev string

	trailerNames []string
	sums         map[string]hash.Hash

	decodedLen, total int64
	chunkLeft         int64
	chunkHash         hash.Hash
	chunkSig          string

	held          byte
	hasHeld       bool
	release, done bool
	err           error
}

func (c *chunkReader) Close() error { return c.body.Close() }

func (c *chunkReader) fail(err error) (int, error) {
	if _, ok := err.(*Error); !ok {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = incomplete()
		}
	}
	c.err = err
	return 0, err
}

func (c *chunkReader) consume(b []byte) {
	c.chunkHash.Write(b)
	for _, h := range c.sums {
		h.Write(b)
	}
	c.total += int64(len(b))
	c.chunkLeft -= int64(len(b))
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if c.hasHeld && c.release {
			p[0], c.hasHeld = c.held, false
			return 1, nil
		}
		if c.done {
			return 0, io.EOF
		}
		if c.chunkLeft == 0 {
			if err := c.nextChunk(); err != nil {
				return c.fail(err)
			}
			continue
		}
		if c.chunkLeft > 1 {
			n := int(min(int64(len(p)), c.chunkLeft-1))
			n, err := c.src.Read(p[:n])
			c.consume(p[:n])
			if err != nil {
				return c.fail(err)
			}
			return n, nil
		}
		b, err := c.src.ReadByte()
		if err != nil {
			return c.fail(err)
		}
		c.consume([]byte{b})
		c.held, c.hasHeld, c.release = b, true, false
		if err := c.endChunk(); err != nil {
			return c.fail(err)
		}
		if c.total == c.decodedLen {
			if err := c.nextChunk(); err != nil {
				return c.fail(err)
			}
			if !c.done {
				return c.fail(newErr(http.StatusBadRequest, CodeIncompleteBody, "the body holds more data than x-amz-decoded-content-length"))
			}
		}
		c.release = true
	}
}

func (c *chunkReader) line() (string, error) {
	var b []byte
	for {
		part, isPrefix, err := c.src.ReadLine()
		if err != nil {
			return "", err
		}
		b = append(b, part...)
		if len(b) > maxChunkLine {
			return "", newErr(http.StatusBadRequest, CodeInvalidChunkSizeError, "a chunk header or trailer line is too long")
		}
		if !isPrefix {
			return string(b), nil
		}
	}
}

func chunkErr(format string, args ...any) *Error {
	return newErr(http.StatusBadRequest, CodeInvalidChunkSizeError, format, args...)
}

// nextChunk reads a chunk header; for the final (empty) chunk it also checks
// the signature, reads the trailer and ends the body.
func (c *chunkReader) nextChunk() error {
	ln, err := c.line()
	if err != nil {
		return err
	}
	sizeStr, ext, hasExt := strings.Cut(ln, ";")
	if len(sizeStr) == 0 || len(sizeStr) > 16 {
		return chunkErr("invalid chunk size")
	}
	size, err := strconv.ParseUint(sizeStr, 16, 64)
	if err != nil {
		return chunkErr("invalid chunk size")
	}
	sig := ""
	if c.signed {
		v, ok := strings.CutPrefix(ext, "chunk-signature=")
		if !hasExt || !ok || !validSignature(v) {
			return newErr(http.StatusForbidden, CodeSignatureDoesNotMatch, "a chunk has no valid chunk-signature")
		}
		sig = v
	}
	if size > uint64(c.decodedLen-c.total) {
		return chunkErr("the chunks hold more data than x-amz-decoded-content-length")
	}
	if c.chunkHash == nil {
		c.chunkHash = sha256.New()
	}
	c.chunkHash.Reset()
	c.chunkSig = sig
	if size > 0 {
		c.chunkLeft = int64(size)
		return nil
	}
	// the final chunk
	if c.total != c.decodedLen {
		return incomplete()
	}
	if c.signed {
		if err := c.checkChunkSignature(); err != nil {
			return err
		}
	}
	if err := c.trailer(); err != nil {
		return err
	}
	c.done = true
	return nil
}

func (c *chunkReader) endChunk() error {
	ln, err := c.line()
	if err != nil {
		return err
	}
	if ln != "" {
		return chunkErr("a chunk is longer than its declared size")
	}
	if c.signed {
		return c.checkChunkSignature()
	}
	return nil
}

func (c *chunkReader) checkChunkSignature() error {
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + c.amzDate + "\n" + c.scope + "\n" + c.prev + "\n" + EmptySHA256 + "\n" +
		hex.EncodeToString(c.chunkHash.Sum(nil))
	if !equalSig(Sign(c.key, sts), c.chunkSig) {
		return newErr(http.StatusForbidden, CodeSignatureDoesNotMatch, "a chunk signature does not match its data")
	}
	c.prev = c.chunkSig
	return nil
}

func trailerErr(format string, args ...any) *Error {
	return newErr(http.StatusBadRequest, CodeMalformedTrailerError, format, args...)
}

// trailer reads what follows the final chunk: an empty line, or the trailing
// headers (and, for signed payloads, x-amz-trailer-signature) and an empty line.
func (c *chunkReader) trailer() error {
	if c.sums == nil {
		ln, err := c.line()
		if err == io.EOF {
			return nil // some clients end the body right after the final chunk
		}
		if err != nil {
			return err
		}
		if ln != "" {
			return trailerErr("unexpected data after the final chunk")
		}
		return nil
	}
	var canonical strings.Builder
	got := map[string]string{}
	sig := ""
	for i := 0; ; i++ {
		if i > maxTrailerLines {
			return trailerErr("the trailer is too long")
		}
		ln, err := c.line()
		if err == io.EOF && len(got) > 0 && (!c.signed || sig != "") {
			break
		}
		if err != nil {
			return trailerErr("the trailer is incomplete")
		}
		if ln == "" {
			if len(got) == 0 || (c.signed && sig == "") {
				continue
			}
			break
		}
		name, value, ok := strings.Cut(ln, ":")
		if !ok {
			return trailerErr("a trailer line has no ':'")
		}
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		if name == "x-amz-trailer-signature" {
			if !c.signed || sig != "" || !validSignature(value) {
				return trailerErr("unexpected or invalid x-amz-trailer-signature")
			}
			sig = value
			continue
		}
		if sig != "" {
			return trailerErr("trailing headers after x-amz-trailer-signature")
		}
		if _, want := c.sums[name]; !want {
			return trailerErr("trailer %q was not declared in x-amz-trailer", clip(name))
		}
		if _, dup := got[name]; dup {
			return trailerErr("trailer %s appears twice", name)
		}
		got[name] = value
		canonical.WriteString(name + ":" + value + "\n")
	}
	if c.signed {
		sum := sha256.Sum256([]byte(canonical.String()))
		sts := "AWS4-HMAC-SHA256-TRAILER\n" + c.amzDate + "\n" + c.scope + "\n" + c.prev + "\n" + hex.EncodeToString(sum[:])
		if sig == "" || !equalSig(Sign(c.key, sts), sig) {
			return newErr(http.StatusForbidden, CodeSignatureDoesNotMatch, "the trailer signature does not match")
		}
	}
	for _, name := range c.trailerNames {
		v, ok := got[name]
		if !ok {
			return trailerErr("the declared trailer %s is missing", name)
		}
		if v != base64.StdEncoding.EncodeToString(c.sums[name].Sum(nil)) {
			return newErr(http.StatusBadRequest, CodeBadDigest, "The %s you specified did not match the calculated checksum.", name)
		}
	}
	return nil
}
