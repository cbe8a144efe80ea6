package signing

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"github.com/klauspost/compress/zlib"
)

// Serializer turns values into bytes and back: Django's serializer classes
// (JSONSerializer, PickleSerializer) with their dumps and loads methods.
type Serializer interface {
	// Dumps returns the serialized bytes of v.
	Dumps(v any) ([]byte, error)
	// Loads returns the value serialized in b. It may keep b.
	Loads(b []byte) (any, error)
}

// SignObject serializes v with ser (nil means JSONSerializer{}), optionally
// compresses it, and signs the URL-safe base64 text (Django's sign_object).
// With compress, the zlib form is kept only when it is at least two bytes
// shorter than the serialized bytes, and is then marked by a leading ".".
// Serializer errors are returned wrapped.
func (s *Signer) SignObject(v any, ser Serializer, compress bool) (string, error) {
	return signObject(s, nil, v, ser, compress)
}

// UnsignObject verifies signed and returns the value it carries (Django's
// unsign_object). It fails with ErrBadSignature as Unsign does, and with a
// *MalformedError (ErrMalformed; ErrTooLarge for a payload bigger than
// Options.MaxPayloadSize) when the verified text cannot be decoded.
func (s *Signer) UnsignObject(signed string, ser Serializer) (any, error) {
	text, err := s.Unsign(signed)
	if err != nil {
		return nil, err
	}
	return loadPayload(text, ser, s.maxPayload)
}

// SignObject is Signer.SignObject with the signing time added (Django's
// TimestampSigner.sign_object, which signing.dumps calls).
func (t *TimestampSigner) SignObject(v any, ser Serializer, compress bool) (string, error) {
	return signObject(t.s, t, v, ser, compress)
}

// UnsignObject verifies signed without an age limit and returns the value it
// carries. See UnsignObjectMaxAge for the errors.
func (t *TimestampSigner) UnsignObject(signed string, ser Serializer) (any, error) {
	return t.UnsignObjectMaxAge(signed, ser, -1)
}

// UnsignObjectMaxAge verifies signed and its age (as UnsignMaxAge) and
// returns the value it carries (Django's
// TimestampSigner.unsign_object(max_age=...), which signing.loads calls).
// Errors are those of UnsignMaxAge plus a *MalformedError (ErrMalformed;
// ErrTooLarge for a payload bigger than Options.MaxPayloadSize) when the
// verified text cannot be decoded. A negative maxAge means no limit.
func (t *TimestampSigner) UnsignObjectMaxAge(signed string, ser Serializer, maxAge time.Duration) (any, error) {
	if maxAge < 0 {
		maxAge = -1
	}
	text, _, err := t.unsign(signed, maxAge)
	if err != nil {
		return nil, err
	}
	return loadPayload(text, ser, t.s.maxPayload)
}

// appendSerializer is implemented by serializers that can write into a
// caller's buffer (JSONSerializer), saving an allocation per SignObject.
type appendSerializer interface {
	AppendDumps(dst []byte, v any) ([]byte, error)
}

// dataBuf is a pooled serialization buffer.
type dataBuf struct{ b []byte }

var dataBufPool = sync.Pool{New: func() any { return &dataBuf{b: make([]byte, 0, 1024)} }}

func signObject(s *Signer, t *TimestampSigner, v any, ser Serializer, compress bool) (string, error) {
	if ser == nil {
		ser = JSONSerializer{}
	}
	var data []byte
	var err error
	if as, ok := ser.(appendSerializer); ok {
		db := dataBufPool.Get().(*dataBuf)
		defer func() {
			if cap(data) <= maxPooled {
				db.b = data[:0]
				dataBufPool.Put(db)
			}
		}()
		data, err = as.AppendDumps(db.b[:0], v)
	} else {
		data, err = ser.Dumps(v)
	}
	if err != nil {
		return "", fmt.Errorf("signing: serialize: %w", err)
	}
	payload, compressed := data, false
	var zb *zbuf
	if compress {
		if zb, compressed = compressPayload(data); compressed {
			payload = zb.out.Bytes()
		}
	}
	n := 1 + base64.RawURLEncoding.EncodedLen(len(payload)) + 2*len(s.sep) + 12 + 88
	b := make([]byte, 0, n)
	if compressed {
		b = append(b, '.')
	}
	b = base64.RawURLEncoding.AppendEncode(b, payload)
	if zb != nil {
		zbufPool.Put(zb)
	}
	if t != nil {
		b = t.appendStampAndSignature(b, 0)
	} else {
		end := len(b)
		b = append(b, s.sep...)
		b = s.keys[0].appendSignature(b, b[:end])
	}
	return unsafe.String(unsafe.SliceData(b), len(b)), nil
}

// EncodePayload returns the text SignObject signs for already serialized
// data: URL-safe base64, and with compress the "."-marked zlib form when it
// is at least two bytes shorter.
func EncodePayload(data []byte, compress bool) string {
	if compress {
		if zb, ok := compressPayload(data); ok {
			defer zbufPool.Put(zb)
			b := make([]byte, 0, 1+base64.RawURLEncoding.EncodedLen(zb.out.Len()))
			b = append(b, '.')
			b = base64.RawURLEncoding.AppendEncode(b, zb.out.Bytes())
			return unsafe.String(unsafe.SliceData(b), len(b))
		}
	}
	return base64.RawURLEncoding.EncodeToString(data)
}

// DecodePayload reverses EncodePayload without verifying anything: it strips
// a leading ".", base64-decodes as Django does and decompresses if the dot
// was there. maxSize bounds the result (zero means DefaultMaxPayloadSize).
// It fails with a *MalformedError (ErrMalformed, and ErrTooLarge beyond
// maxSize). Useful to inspect a value whose key is unknown.
func DecodePayload(text string, maxSize int) (data []byte, compressed bool, err error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxPayloadSize
	}
	compressed = len(text) > 0 && text[0] == '.'
	data, err = decodePayload(nil, text, maxSize)
	if err != nil {
		return nil, compressed, err
	}
	return data, compressed, nil
}

// payloadBuf is a pooled buffer for decoded payloads, used only with
// serializers known not to keep their input (JSONSerializer copies what it
// keeps), so that a Loads allocates nothing for the payload bytes.
type payloadBuf struct{ b []byte }

var payloadPool = sync.Pool{New: func() any { return new(payloadBuf) }}

// maxPooled is the largest buffer the pools keep: a rare huge payload must
// not stay pinned in memory.
const maxPooled = 1 << 20

func loadPayload(text string, ser Serializer, maxSize int) (any, error) {
	if ser == nil {
		ser = JSONSerializer{}
	}
	var data []byte
	var err error
	if _, copies := ser.(JSONSerializer); copies {
		pb := payloadPool.Get().(*payloadBuf)
		defer func() {
			if cap(data) <= maxPooled {
				pb.b = data[:0]
			}
			payloadPool.Put(pb)
		}()
		data, err = decodePayload(pb.b[:0], text, maxSize)
	} else {
		data, err = decodePayload(nil, text, maxSize)
	}
	if err != nil {
		return nil, err
	}
	v, err := ser.Loads(data)
	if err != nil {
		return nil, &MalformedError{Part: "payload", Err: err}
	}
	return v, nil
}

var errTooLargeBase64 = fmt.Errorf("decoded payload exceeds the size limit: %w", ErrTooLarge)

// decodePayload decodes text (see DecodePayload) appending to dst.
func decodePayload(dst []byte, text string, maxSize int) ([]byte, error) {
	compressed := len(text) > 0 && text[0] == '.'
	if compressed {
		text = text[1:]
	}
	if len(text)/4*3 > maxSize+3 && !compressed {
		return dst, &MalformedError{Part: "size", Err: errTooLargeBase64}
	}
	if !compressed {
		if need := len(text)*3/4 + 3; cap(dst) < need {
			dst = make([]byte, 0, need)
		}
		data, err := appendB64Decode(dst, text)
		if err != nil {
			return data, &MalformedError{Part: "base64", Err: err}
		}
		if len(data) > maxSize {
			return data, &MalformedError{Part: "size", Err: errTooLargeBase64}
		}
		return data, nil
	}
	zb := zbufPool.Get().(*zbuf)
	defer zbufPool.Put(zb)
	z, err := appendB64Decode(zb.in[:0], text)
	if cap(z) <= maxPooled {
		zb.in = z[:0]
	}
	if err != nil {
		return dst, &MalformedError{Part: "base64", Err: err}
	}
	return inflate(dst, z, maxSize)
}

// zbuf holds the pooled state of one compression or decompression.
type zbuf struct {
	in  []byte       // base64-decoded compressed bytes
	out bytes.Buffer // compressed output
	w   *zlib.Writer // level 6, created on first compression
	w9  *zlib.Writer // level 9, created on first retry
}

var zbufPool = sync.Pool{New: func() any { return new(zbuf) }}

// compressLevel is zlib's default level, as Python's zlib.compress uses.
const compressLevel = 6

// klauspost's level 6 is several times faster than CPython's zlib, but
// Django keeps compression only when it saves two bytes, and on small
// inputs level 6 often misses that mark where CPython makes it: below
// smallInput bytes it does not look for matches at all, and above it can
// still come out up to about 14 bytes longer. Level 9 comes within a byte
// or two of CPython, so it takes those inputs directly, and gets a second
// try on a payload of up to retryLimit bytes that level 6 misses by at most
// retryMargin bytes (plus 1/64 of its length). Measured on 4000 random
// session-like values, the keep/drop decision then differs from CPython's
// in 0.6% of cases instead of 22% with level 6 alone; a wider margin agrees
// no better. The margin matters for speed: level 9 clears its hash tables
// first (a few µs), wasted on a payload level 9 cannot rescue either.
const (
	retryLevel  = 9
	retryLimit  = 64 << 10
	retryMargin = 16
	smallInput  = 128
)

// minKept is the shortest payload whose compressed form Django can keep: a
// zlib stream of at least one byte takes at least 9 bytes (2 of header, a
// 3-byte deflate block with one literal and the end code, 4 of checksum),
// and Django keeps it only if it is shorter than len(data)-1.
const minKept = 11

// compressPayload deflates data and reports whether Django would keep the
// result, that is whether it saves at least two bytes. When ok, zb.out holds
// the zlib stream and the caller must put zb back into zbufPool.
func compressPayload(data []byte) (zb *zbuf, ok bool) {
	n := len(data)
	if n < minKept {
		return nil, false
	}
	zb = zbufPool.Get().(*zbuf)
	if n < smallInput {
		deflateInto(&zb.w9, &zb.out, retryLevel, data)
	} else {
		deflateInto(&zb.w, &zb.out, compressLevel, data)
		if zb.out.Len() >= n-1 && n <= retryLimit && zb.out.Len()-(n-2) <= retryMargin+n/64 {
			deflateInto(&zb.w9, &zb.out, retryLevel, data)
		}
	}
	if zb.out.Len() >= n-1 {
		zbufPool.Put(zb)
		return nil, false
	}
	return zb, true
}

func deflateInto(w **zlib.Writer, out *bytes.Buffer, level int, data []byte) {
	out.Reset()
	if *w == nil {
		*w, _ = zlib.NewWriterLevel(out, level)
	} else {
		(*w).Reset(out)
	}
	// Writes to a bytes.Buffer cannot fail.
	(*w).Write(data)
	(*w).Close()
}

// inflate decompresses the zlib stream z, failing with ErrTooLarge as soon
// as more than maxSize bytes come out, so a zlib bomb costs at most maxSize
// of memory. Bytes after the end of the stream are ignored, as
// zlib.decompress ignores them.
func inflate(dst, z []byte, maxSize int) ([]byte, error) {
	if size := min(8*len(z)+256, maxSize); cap(dst) < size {
		dst = make([]byte, 0, size)
	}
	out, err := inflateZlib(dst[:0], z, maxSize)
	if err == errTooBig {
		return out, &MalformedError{Part: "size",
			Err: fmt.Errorf("decompressed payload exceeds %d bytes: %w", maxSize, ErrTooLarge)}
	}
	if err != nil {
		return out, &MalformedError{Part: "zlib", Err: &ZlibError{Msg: err.Error(), Err: err}}
	}
	return out, nil
}

// ZlibError is a decompression failure, worded as CPython's zlib.error
// ("Error -3 while decompressing data: incorrect header check").
type ZlibError struct {
	// Msg is the zlib.error text.
	Msg string
	// Err is the decompressor's own error.
	Err error
}

func (e *ZlibError) Error() string { return e.Msg }

// Unwrap returns the decompressor's error.
func (e *ZlibError) Unwrap() error { return e.Err }
