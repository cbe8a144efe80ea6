// Package vectors loads the test vectors produced by real Django
// (testdata/vectors/*.json) for the tests of every package.
//
// A vector file is {"file", "description", "conventions", "case_count",
// "cases": [...]}. Each case is a JSON object decoded with pyvalue's UTF-8
// JSON decoder, so key order is kept and integers stay distinct from floats.
// Values JSON cannot carry are tagged ({"$datetime": ...}, {"$tuple": [...]},
// ...); Untag turns them into pyvalue values.
//
// Typical use:
//
//	for _, c := range vectors.Load(t, "signing.json") {
//		if c.Op() != "JSONSerializer.dumps" {
//			continue
//		}
//		t.Run(c.Name(), func(t *testing.T) {
//			c := c.WithT(t)
//			in := c.Value("input") // untagged
//			want := c.Hex("result_hex")
//			...
//		})
//	}
package vectors

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/djsession/djsession/pyvalue"
)

// File is a whole vector file.
type File struct {
	// Name is the file name ("signing.json").
	Name string
	// Description is the file's "description".
	Description string
	// Conventions is the file's "conventions" object (SECRET_KEY, tags ...).
	Conventions *pyvalue.Dict
	// Cases are the file's cases in order.
	Cases []Case
}

// Dir returns the absolute path of testdata/vectors, found by walking up
// from the current directory (a package directory under go test) to the
// directory holding go.mod.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatalf("vectors: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata", "vectors")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("vectors: no go.mod above the current directory")
		}
		dir = parent
	}
}

// LoadFile reads testdata/vectors/name, failing tb on any error.
func LoadFile(tb testing.TB, name string) *File {
	tb.Helper()
	path := filepath.Join(Dir(tb), name)
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("vectors: %v", err)
	}
	v, err := pyvalue.UnmarshalJSONText(b)
	if err != nil {
		tb.Fatalf("vectors: %s: %v", path, err)
	}
	top, ok := v.(*pyvalue.Dict)
	if !ok {
		tb.Fatalf("vectors: %s: top level is %s, want dict", path, pyvalue.TypeName(v))
	}
	f := &File{Name: name}
	if s, ok := get(top, "description").(string); ok {
		f.Description = s
	}
	f.Conventions, _ = get(top, "conventions").(*pyvalue.Dict)
	cases, ok := get(top, "cases").([]any)
	if !ok {
		tb.Fatalf("vectors: %s: no \"cases\" list", path)
	}
	f.Cases = make([]Case, 0, len(cases))
	for i, c := range cases {
		d, ok := c.(*pyvalue.Dict)
		if !ok {
			tb.Fatalf("vectors: %s: case %d is %s, want dict", path, i, pyvalue.TypeName(c))
		}
		f.Cases = append(f.Cases, Case{tb: tb, file: name, index: i, d: d})
	}
	return f
}

// Load returns the cases of testdata/vectors/name, failing tb on any error.
func Load(tb testing.TB, name string) []Case {
	tb.Helper()
	return LoadFile(tb, name).Cases
}

// Select returns the cases whose "op" is one of ops.
func Select(cases []Case, ops ...string) []Case {
	var out []Case
	for _, c := range cases {
		op := c.Op()
		for _, o := range ops {
			if op == o {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

func get(d *pyvalue.Dict, k string) any {
	v, _ := d.Get(k)
	return v
}

// Case is one vector case. Its accessors take a path of keys into nested
// objects (c.Str("encode", "result")) and fail the test bound to the case
// when a key is missing or has the wrong type. Cases returned by Load are
// bound to the tb given to Load; inside t.Run use c.WithT(t).
type Case struct {
	tb    testing.TB
	file  string
	index int
	d     *pyvalue.Dict
}

// WithT returns c bound to tb, so that failures are reported on tb.
func (c Case) WithT(tb testing.TB) Case {
	c.tb = tb
	return c
}

// Raw returns the case's object as decoded, tags untouched.
func (c Case) Raw() *pyvalue.Dict { return c.d }

// Index is the case's position in its file.
func (c Case) Index() int { return c.index }

// File is the name of the case's file.
func (c Case) File() string { return c.file }

// Op returns the case's "op" ("" when absent).
func (c Case) Op() string { s, _ := get(c.d, "op").(string); return s }

// DjangoVersion returns the case's "django_version" ("3.2.25" ...).
func (c Case) DjangoVersion() string { s, _ := get(c.d, "django_version").(string); return s }

// Name returns a name for t.Run: index, op, the case's name/desc, variant
// and Django version.
func (c Case) Name() string {
	parts := []string{strconv.Itoa(c.index)}
	for _, k := range []string{"op", "name", "desc", "variant", "django_version"} {
		if s, ok := get(c.d, k).(string); ok && s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "/")
}

// Lookup returns the raw (tagged) value at path and whether it exists.
func (c Case) Lookup(path ...string) (any, bool) {
	var cur any = c.d
	for _, k := range path {
		d, ok := cur.(*pyvalue.Dict)
		if !ok {
			return nil, false
		}
		if cur, ok = d.Get(k); !ok {
			return nil, false
		}
	}
	return cur, true
}

// Has reports whether path exists.
func (c Case) Has(path ...string) bool {
	_, ok := c.Lookup(path...)
	return ok
}

// Get returns the raw (tagged) value at path, failing the test if absent.
func (c Case) Get(path ...string) any {
	c.tb.Helper()
	v, ok := c.Lookup(path...)
	if !ok {
		c.tb.Fatalf("vectors: %s case %s: no %q", c.file, c.Name(), strings.Join(path, "."))
	}
	return v
}

func (c Case) typed(want string, path []string) any {
	c.tb.Helper()
	v := c.Get(path...)
	if got := pyvalue.TypeName(v); got != want {
		c.tb.Fatalf("vectors: %s case %s: %q is %s, want %s", c.file, c.Name(), strings.Join(path, "."), got, want)
	}
	return v
}

// Str returns the string at path.
func (c Case) Str(path ...string) string {
	c.tb.Helper()
	return c.typed("str", path).(string)
}

// StrOr returns the string at path, or def when path is absent.
func (c Case) StrOr(def string, path ...string) string {
	c.tb.Helper()
	if !c.Has(path...) {
		return def
	}
	return c.Str(path...)
}

// Int returns the integer at path, which must fit in an int64.
func (c Case) Int(path ...string) int64 {
	c.tb.Helper()
	v := c.typed("int", path)
	n, ok := v.(int64)
	if !ok {
		c.tb.Fatalf("vectors: %s case %s: %q = %v does not fit in int64", c.file, c.Name(), strings.Join(path, "."), v)
	}
	return n
}

// BigInt returns the integer at path as a *big.Int.
func (c Case) BigInt(path ...string) *big.Int {
	c.tb.Helper()
	switch x := c.typed("int", path).(type) {
	case int64:
		return big.NewInt(x)
	case *big.Int:
		return x
	}
	panic("unreachable")
}

// Float returns the float at path.
func (c Case) Float(path ...string) float64 {
	c.tb.Helper()
	return c.typed("float", path).(float64)
}

// Bool returns the bool at path.
func (c Case) Bool(path ...string) bool {
	c.tb.Helper()
	return c.typed("bool", path).(bool)
}

// Dict returns the object at path, tags untouched.
func (c Case) Dict(path ...string) *pyvalue.Dict {
	c.tb.Helper()
	return c.typed("dict", path).(*pyvalue.Dict)
}

// List returns the array at path, tags untouched.
func (c Case) List(path ...string) []any {
	c.tb.Helper()
	return c.typed("list", path).([]any)
}

// Sub returns the object at path as a Case bound to the same test.
func (c Case) Sub(path ...string) Case {
	c.tb.Helper()
	s := c
	s.d = c.Dict(path...)
	return s
}

// Hex returns the bytes encoded by the hex string at path.
func (c Case) Hex(path ...string) []byte {
	c.tb.Helper()
	b, err := hex.DecodeString(c.Str(path...))
	if err != nil {
		c.tb.Fatalf("vectors: %s case %s: %q: %v", c.file, c.Name(), strings.Join(path, "."), err)
	}
	return b
}

// Value returns the value at path with its tags converted by Untag.
func (c Case) Value(path ...string) any {
	c.tb.Helper()
	v, err := Untag(c.Get(path...))
	if err != nil {
		c.tb.Fatalf("vectors: %s case %s: %q: %v", c.file, c.Name(), strings.Join(path, "."), err)
	}
	return v
}

// Error returns the case's "error" (exception class) and "message" when the
// case recorded an exception; ok is false otherwise. path names a nested
// object holding them (c.Error("encode")), or the case itself when empty.
func (c Case) Error(path ...string) (class, message string, ok bool) {
	class, ok = get1(c, append(path, "error"))
	message, _ = get1(c, append(path, "message"))
	return class, message, ok
}

func get1(c Case, path []string) (string, bool) {
	v, ok := c.Lookup(path...)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	return s, ok
}

// String describes the case for failure messages.
func (c Case) String() string { return fmt.Sprintf("%s#%s", c.file, c.Name()) }
