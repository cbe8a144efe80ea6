package vectors

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/djsession/djsession/pyvalue"
)

// BenchSession is one session dict of the side-by-side benchmarks.
type BenchSession struct {
	Name string
	Data *pyvalue.Dict
}

// BenchSessions returns the session dicts the engine benchmarks and their
// Django counterparts (bench/*.py) share. tiny, medium and large are
// testdata/bench/{tiny,medium,large}.json, the sizes the issues define: an
// auth-only session of about 170 bytes, about 1 KB, and about 16 KB of
// compressible JSON. xlarge goes beyond them: a 44 KB session whose
// "history" holds 2000 URLs, which bench/file_cookie.py builds the same way.
func BenchSessions(tb testing.TB) []BenchSession {
	tb.Helper()
	dir := filepath.Join(filepath.Dir(Dir(tb)), "bench")
	var out []BenchSession
	for _, name := range []string{"tiny", "medium", "large"} {
		raw, err := os.ReadFile(filepath.Join(dir, name+".json"))
		if err != nil {
			tb.Fatal(err)
		}
		v, err := pyvalue.UnmarshalJSONText(raw)
		if err != nil {
			tb.Fatalf("%s.json: %v", name, err)
		}
		d, ok := v.(*pyvalue.Dict)
		if !ok {
			tb.Fatalf("%s.json is not an object", name)
		}
		out = append(out, BenchSession{name, d})
	}
	x := pyvalue.NewDict(8)
	x.Set("_auth_user_id", "1")
	x.Set("_auth_user_backend", "django.contrib.auth.backends.ModelBackend")
	x.Set("_auth_user_hash", "0618db4cc18c08b09c2268f1900e29d1cf5eef02f321e78135302313d1fe7aa5")
	cart := make([]any, 0, 10)
	for i := 0; i < 10; i++ {
		item := pyvalue.NewDict(4)
		item.Set("id", int64(i))
		item.Set("name", fmt.Sprintf("item-%d", i))
		item.Set("price", float64(i)*1.25)
		item.Set("qty", int64(i%3+1))
		cart = append(cart, item)
	}
	x.Set("cart", cart)
	x.Set("flash", "Welcome back!")
	prefs := pyvalue.NewDict(3)
	prefs.Set("theme", "dark")
	prefs.Set("lang", "en-us")
	prefs.Set("tz", "Europe/Paris")
	x.Set("prefs", prefs)
	x.Set("visits", int64(42))
	hist := make([]any, 0, 2000)
	for i := 0; i < 2000; i++ {
		hist = append(hist, fmt.Sprintf("/page/%d?ref=%d", i, i*7))
	}
	x.Set("history", hist)
	return append(out, BenchSession{"xlarge", x})
}
