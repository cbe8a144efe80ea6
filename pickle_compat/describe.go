package pickle_compat

import (
	"strings"

	"github.com/djsession/djsession/pyvalue"
)

// Describe renders a decoded value for people (djsession inspect): Python
// repr syntax with type names (datetime.datetime(2023, 11, 14, 22, 13, 20,
// tzinfo=datetime.timezone.utc), Decimal('1.50'), opaque objects as the
// reduction that builds them), a non-empty dict at the top level one item
// per line.
func Describe(v any) string {
	d, ok := v.(*pyvalue.Dict)
	if !ok || d.Len() == 0 {
		return pyvalue.Repr(v)
	}
	var b strings.Builder
	b.WriteString("{\n")
	for i := 0; i < d.Len(); i++ {
		k, x := d.At(i)
		b.WriteString("    ")
		b.WriteString(pyvalue.Repr(k))
		b.WriteString(": ")
		b.WriteString(pyvalue.Repr(x))
		b.WriteString(",\n")
	}
	b.WriteString("}")
	return b.String()
}
