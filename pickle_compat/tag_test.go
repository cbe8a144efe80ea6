package pickle_compat

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/djsession/djsession/pyvalue"
)

// tag renders a decoded value in the tagged form of
// testdata/pickle_pyside.py, so that it can be compared with what CPython
// unpickled.
func tag(v any) any {
	switch x := v.(type) {
	case nil, bool:
		return x
	case int64:
		return map[string]any{"int": strconv.FormatInt(x, 10)}
	case *big.Int:
		return map[string]any{"int": x.String()}
	case float64:
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], math.Float64bits(x))
		return map[string]any{"float": hex.EncodeToString(b[:])}
	case string:
		return map[string]any{"str": hex.EncodeToString([]byte(x))}
	case pyvalue.Bytes:
		return map[string]any{"bytes": hex.EncodeToString(x)}
	case pyvalue.ByteArray:
		return map[string]any{"bytearray": hex.EncodeToString(x)}
	case []any:
		return map[string]any{"list": tagAll(x)}
	case pyvalue.Tuple:
		return map[string]any{"tuple": tagAll(x)}
	case *pyvalue.Set:
		items := tagAll(x.Items)
		sort.Slice(items, func(i, j int) bool { return canon(items[i]) < canon(items[j]) })
		name := "set"
		if x.Frozen {
			name = "frozenset"
		}
		return map[string]any{name: items}
	case *pyvalue.Dict:
		return map[string]any{"dict": tagItems(x)}
	case pyvalue.DateTime:
		return map[string]any{"datetime": []any{x.Year, x.Month, x.Day, x.Hour, x.Minute, x.Second, x.Microsecond, x.Fold}, "tz": tagTZ(x.TZ)}
	case pyvalue.Date:
		return map[string]any{"date": []any{x.Year, x.Month, x.Day}}
	case pyvalue.Time:
		return map[string]any{"time": []any{x.Hour, x.Minute, x.Second, x.Microsecond, x.Fold}, "tz": tagTZ(x.TZ)}
	case pyvalue.TimeDelta:
		return map[string]any{"timedelta": []any{x.Days, x.Seconds, x.Microseconds}}
	case pyvalue.Decimal:
		return map[string]any{"decimal": string(x)}
	case pyvalue.UUID:
		return map[string]any{"uuid": x.String()}
	case *pyvalue.TZInfo:
		return map[string]any{"tzinfo": tagTZ(x)}
	case *pyvalue.Object:
		if x.IsOrderedDict() {
			return map[string]any{"ordered_dict": tagItems(x.Dict())}
		}
		return map[string]any{"object": "?"}
	}
	return map[string]any{"go": "unexpected type " + pyvalue.TypeName(v)}
}

func tagAll(xs []any) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = tag(x)
	}
	return out
}

func tagItems(d *pyvalue.Dict) []any {
	out := make([]any, 0, d.Len())
	for i := 0; i < d.Len(); i++ {
		k, v := d.At(i)
		out = append(out, []any{tag(k), tag(v)})
	}
	return out
}

func tagTZ(tz *pyvalue.TZInfo) any {
	if tz == nil {
		return nil
	}
	switch tz.Kind {
	case pyvalue.TZUTC:
		return map[string]any{"utc": 1}
	case pyvalue.TZPytzUTC:
		return map[string]any{"pytz_utc": 1}
	case pyvalue.TZFixed:
		var name any
		if tz.Name != "" {
			name = tz.Name
		}
		return map[string]any{"fixed": tz.Offset, "name": name}
	case pyvalue.TZZoneInfo:
		return map[string]any{"zoneinfo": tz.Name}
	}
	return map[string]any{"opaque": 1}
}

// canon is the canonical JSON of a tagged value (object keys sorted, as
// Python's json.dumps(sort_keys=True) orders them).
func canon(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "!" + err.Error()
	}
	return string(b)
}

// repoRoot returns the directory holding go.mod.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}
