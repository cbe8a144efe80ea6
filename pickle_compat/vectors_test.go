package pickle_compat

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/djsession/djsession/internal/vectors"
	"github.com/djsession/djsession/pyvalue"
)

type expectedEntry struct {
	File          string `json:"file"`
	Case          int    `json:"case"`
	Path          []any  `json:"path"`
	Kind          string `json:"kind"`
	Protocol      int    `json:"protocol"`
	PythonVersion string `json:"python_version"`
	PickleHex     string `json:"pickle_hex"`
	Tagged        any    `json:"tagged"`
	Error         string `json:"error"`
}

func loadExpected(t testing.TB) []expectedEntry {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "testdata", "pickle_expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Entries []expectedEntry `json:"entries"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f.Entries
}

// rawCases returns the vector file's cases decoded with encoding/json, for
// following the entries' paths.
func rawCases(t *testing.T, name string) []any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectors.Dir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []any `json:"cases"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f.Cases
}

func follow(v any, path []any) (any, bool) {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			v = m[k]
		case float64:
			l, ok := v.([]any)
			if !ok || int(k) >= len(l) {
				return nil, false
			}
			v = l[int(k)]
		}
	}
	return v, true
}

// signedPickle extracts the pickle from a signed "payload:ts:sig" value.
func signedPickle(s string) ([]byte, error) {
	payload, _, _ := strings.Cut(s, ":")
	compressed := strings.HasPrefix(payload, ".")
	payload = strings.TrimPrefix(payload, ".")
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, err
	}
	if compressed {
		zr, err := zlib.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		if raw, err = io.ReadAll(zr); err != nil {
			return nil, err
		}
	}
	return raw, nil
}

// writerApplies reports whether CPython's output for this entry is what
// this package's writer reproduces: CPython 3.8+ (3.6/3.7 differ in framing
// and bytearray) at protocols 2, 4, 5.
func writerApplies(e expectedEntry) bool {
	if e.Protocol < 2 || e.Protocol == 3 {
		return false
	}
	switch {
	case strings.HasPrefix(e.PythonVersion, "3.6."), strings.HasPrefix(e.PythonVersion, "3.7."):
		return false
	}
	return true
}

// TestVectors reads every pickle of the vector files and compares the value
// with what CPython unpickled (testdata/pickle_expected.json), then writes
// it back and compares the bytes with CPython's.
func TestVectors(t *testing.T) {
	entries := loadExpected(t)
	files := map[string][]any{}
	perFile := map[string]int{}
	written := 0
	for _, e := range entries {
		if files[e.File] == nil {
			files[e.File] = rawCases(t, e.File)
		}
		name := fmt.Sprintf("%s#%d/%v", e.File, e.Case, e.Path)
		t.Run(name, func(t *testing.T) {
			// The entry's bytes must be the vector's bytes.
			src, ok := follow(files[e.File][e.Case], e.Path)
			s, _ := src.(string)
			if !ok || s == "" {
				t.Fatalf("path not found in the vector file")
			}
			want, _ := hex.DecodeString(e.PickleHex)
			var got []byte
			if e.Kind == "signed" {
				var err error
				if got, err = signedPickle(s); err != nil {
					t.Fatal(err)
				}
			} else {
				got, _ = hex.DecodeString(s)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("pickle in vector file differs from pickle_expected.json")
			}
			perFile[e.File]++
			v, err := Loads(want)
			if e.Error != "" {
				if err == nil {
					t.Fatalf("CPython failed (%s) but Loads succeeded", e.Error)
				}
				return
			}
			if err != nil {
				t.Fatalf("Loads: %v", err)
			}
			if g, w := canon(tag(v)), canon(e.Tagged); g != w {
				t.Fatalf("value differs\n got: %s\nwant: %s", g, w)
			}
			if !writerApplies(e) {
				return
			}
			out, err := Dumps(v, e.Protocol)
			if err != nil {
				t.Fatalf("Dumps: %v", err)
			}
			if !bytes.Equal(out, want) {
				t.Fatalf("Dumps differs from CPython\n got: %x\nwant: %x", out, want)
			}
			written++
		})
	}
	// Every pickle case of pickle.json must have been covered.
	n := 0
	for _, c := range files["pickle.json"] {
		if m, ok := c.(map[string]any); ok && m["pickle_hex"] != nil {
			n++
		}
	}
	if perFile["pickle.json"] != n {
		t.Errorf("covered %d pickle.json cases, the file has %d", perFile["pickle.json"], n)
	}
	for _, f := range []string{"session_encode.json", "signed_cookies.json", "cache_values.json"} {
		if perFile[f] == 0 {
			t.Errorf("no pickle case of %s covered", f)
		}
	}
	t.Logf("read %d pickles (%v), wrote %d byte-identical", len(entries), perFile, written)
}

// TestSessionVectorsFreshValues writes the session dicts of the pickle
// session vectors, built from their JSON (not from the pickle), and compares
// with the payload real Django signed.
func TestSessionVectorsFreshValues(t *testing.T) {
	checked := 0
	for _, c := range vectors.Load(t, "session_encode.json") {
		if c.Op() != "encode" || !strings.Contains(c.StrOr("", "settings", "SESSION_SERIALIZER"), "Pickle") {
			continue
		}
		raw, ok := c.Lookup("session_dict")
		if !ok {
			continue
		}
		d, err := vectors.Untag(raw)
		if err != nil {
			continue
		}
		want, err := signedPickle(c.Str("result"))
		if err != nil {
			t.Fatalf("%s: %v", c.Name(), err)
		}
		if fresh, ok := d.(*pyvalue.Dict); ok && hasOnlyPlainValues(fresh) {
			got, err := Dumps(fresh, int(want[1]))
			if err != nil {
				t.Fatalf("%s: %v", c.Name(), err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: Dumps\n got: %x\nwant: %x", c.Name(), got, want)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no pickle session_encode case checked")
	}
	t.Logf("%d session dicts written byte-identical", checked)
}

// hasOnlyPlainValues skips dicts whose tagged form carries objects Untag
// maps ambiguously (datetimes: timezone.utc vs pytz).
func hasOnlyPlainValues(d *pyvalue.Dict) bool {
	for _, v := range d.Values() {
		switch v.(type) {
		case nil, bool, int64, float64, string, []any, *pyvalue.Dict:
		default:
			return false
		}
	}
	return true
}

// Serializer has the method set of signing.Serializer.
var _ interface {
	Dumps(v any) ([]byte, error)
	Loads(b []byte) (any, error)
} = Serializer{}

func TestSafeStringStr(t *testing.T) {
	b, _ := hex.DecodeString("80059534000000000000008c17646a616e676f2e7574696c732e73616665737472696e67948c0a53616665537472696e679493948c033c623e94859481942e")
	v, err := Loads(b)
	if err != nil {
		t.Fatal(err)
	}
	o, ok := v.(*pyvalue.Object)
	if !ok {
		t.Fatalf("got %T", v)
	}
	if s, ok := o.Str(); !ok || s != "<b>" {
		t.Errorf("Str() = %q, %v", s, ok)
	}
	out, _ := Dumps(v, 5)
	if !bytes.Equal(out, b) {
		t.Errorf("SafeString round trip: %x", out)
	}
}

// TestPytzZone: a pytz zone stays opaque (re-pickled as it was) but its
// recorded offset still gives Python's isoformat.
func TestPytzZone(t *testing.T) {
	b, _ := hex.DecodeString("80059559000000000000008c086461746574696d65948c086461746574696d65949394430a07e707010c0000000000948c047079747a948c025f70949394288c0c4575726f70652f5061726973944d201c4d100e8c04434553549474945294869452942e")
	v, err := Loads(b)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := v.(pyvalue.DateTime)
	if !ok || d.TZ == nil || d.TZ.Kind != pyvalue.TZOpaque {
		t.Fatalf("got %s", pyvalue.Repr(v))
	}
	if got := d.ISOFormat(); got != "2023-07-01T12:00:00+02:00" {
		t.Errorf("ISOFormat = %s", got)
	}
	if out, _ := Dumps(v, 5); !bytes.Equal(out, b) {
		t.Errorf("round trip: %x", out)
	}
}
