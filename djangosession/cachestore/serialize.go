package cachestore

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/djsession/djsession/pickle_compat"
	"github.com/djsession/djsession/pyvalue"
)

// Memcached item flags shared by pymemcache, pylibmc and python-memcached.
const (
	FlagPickle     = 1
	FlagInteger    = 2
	FlagLong       = 4
	FlagCompressed = 8
	FlagText       = 16
)

// PickleProtocol is the protocol every Django cache client pickles with
// (pickle.HIGHEST_PROTOCOL on CPython 3.8+).
const PickleProtocol = 5

// Flavor is the Python client library whose serialisation a cache
// reproduces; they differ only for ints and bools.
type Flavor uint8

const (
	// FlavorPyMemcache is pymemcache's pickle_serde (PyMemcacheCache):
	// int → flags 2, bool pickled.
	FlavorPyMemcache Flavor = iota + 1
	// FlavorPyLibMC is pylibmc (PyLibMCCache): int → flags 4, bool → flags 2
	// "1"/"0".
	FlavorPyLibMC
	// FlavorRedis is Django's RedisSerializer (RedisCache): exact ints as
	// ASCII digits, everything else pickled; no flags.
	FlavorRedis
)

// ErrValue: a stored value that cannot be read (bad pickle, bad zlib, bad
// digits, unknown flags).
var ErrValue = errors.New("cachestore: undecodable cached value")

// maxDecompressed bounds zlib-compressed values (a zlib bomb cannot make us
// allocate more than this).
const maxDecompressed = 64 << 20

// encodeValue serialises v as the flavor's client does: the stored bytes
// and the memcached flags (0 for Redis).
func encodeValue(f Flavor, v any) ([]byte, uint32, error) {
	if f == FlavorRedis {
		if s, ok := exactInt(v); ok {
			return []byte(s), 0, nil
		}
		b, err := pickle_compat.Dumps(v, PickleProtocol)
		return b, 0, err
	}
	switch x := v.(type) {
	case bool:
		if f == FlavorPyLibMC {
			if x {
				return []byte("1"), FlagInteger, nil
			}
			return []byte("0"), FlagInteger, nil
		}
	case string:
		return []byte(x), FlagText, nil
	case pyvalue.Bytes:
		return []byte(x), 0, nil
	case []byte:
		return x, 0, nil
	}
	if s, ok := exactInt(v); ok {
		if f == FlavorPyLibMC {
			return []byte(s), FlagLong, nil
		}
		return []byte(s), FlagInteger, nil
	}
	b, err := pickle_compat.Dumps(v, PickleProtocol)
	return b, FlagPickle, err
}

// exactInt returns the decimal text of v when it is a Python int (not a
// bool).
func exactInt(v any) (string, bool) {
	switch x := v.(type) {
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case *big.Int:
		return x.String(), true
	}
	return "", false
}

// decodeMemcached reads an item as the flavor's client does, accepting
// every flag combination any of the three memcached clients writes.
func decodeMemcached(f Flavor, b []byte, flags uint32) (any, error) {
	if flags&FlagCompressed != 0 {
		d, err := inflate(b)
		if err != nil {
			return nil, err
		}
		b, flags = d, flags&^FlagCompressed
	}
	switch {
	case flags == 0:
		return pyvalue.Bytes(b), nil
	case flags&FlagText != 0:
		if !utf8.Valid(b) {
			return nil, fmt.Errorf("%w: text item is not UTF-8", ErrValue)
		}
		return string(b), nil
	case flags&FlagInteger != 0 && f == FlavorPyLibMC:
		n, err := parsePyInt(b)
		if err != nil {
			return nil, err
		}
		return !isZero(n), nil
	case flags&(FlagInteger|FlagLong) != 0:
		return parsePyInt(b)
	case flags&FlagPickle != 0:
		v, err := pickle_compat.Loads(b)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrValue, err)
		}
		return v, nil
	}
	return nil, fmt.Errorf("%w: unknown flags %d", ErrValue, flags)
}

// decodeRedis is RedisSerializer.loads: int(data), else pickle.loads(data).
func decodeRedis(b []byte) (any, error) {
	if n, err := parsePyInt(b); err == nil {
		return n, nil
	}
	v, err := pickle_compat.Loads(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrValue, err)
	}
	return v, nil
}

func isZero(v any) bool {
	switch x := v.(type) {
	case int64:
		return x == 0
	case *big.Int:
		return x.Sign() == 0
	}
	return false
}

// parsePyInt is Python's int(bytes): surrounding whitespace, a sign, and
// digits with single underscores between them. The result is an int64 or a
// *big.Int (pyvalue.Int).
func parsePyInt(b []byte) (any, error) {
	s := strings.TrimSpace(string(b))
	t := s
	if t != "" && (t[0] == '+' || t[0] == '-') {
		t = t[1:]
	}
	if t == "" || t[0] == '_' || t[len(t)-1] == '_' || strings.Contains(t, "__") || len(t) > 4300 {
		return nil, fmt.Errorf("%w: not an int", ErrValue)
	}
	for i := 0; i < len(t); i++ {
		if (t[i] < '0' || t[i] > '9') && t[i] != '_' {
			return nil, fmt.Errorf("%w: not an int", ErrValue)
		}
	}
	s = strings.ReplaceAll(s, "_", "")
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, fmt.Errorf("%w: not an int", ErrValue)
	}
	return pyvalue.Int(n), nil
}

func inflate(b []byte) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: zlib: %w", ErrValue, err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, maxDecompressed+1))
	if err != nil {
		return nil, fmt.Errorf("%w: zlib: %w", ErrValue, err)
	}
	if len(out) > maxDecompressed {
		return nil, fmt.Errorf("%w: decompressed value larger than %d bytes", ErrValue, maxDecompressed)
	}
	return out, nil
}
