package cookiestore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/djsession/djsession/djangosession"
)

// FuzzLoad: any cookie value loads to a dict or gives ErrNotFound; it never
// panics.
func FuzzLoad(f *testing.F) {
	for _, c := range []string{
		"eyJhIjoxfQ:1r31eq:VplhdrUFi_Fm_9wAMUYIHMZLeCyz4tNA7t1-6ly1DeY",
		"e30:1r31eq:SvhpCalRDw0QXjcnCMWw5LH-nAsdXCkveVWF3B1wMvk",
		".eJxVjEEOwiAQRe_C2pAZkBZcuu8ZCAyDVA0kpV0Z765NutDtf-_9l_BhW4vfOi9-TuIiUJx-txjowXUH6R7qrUlqdV3mKHdFHrTLqSV-Xg_376CEXr41DGhTPBOhJbARHCk12IwOgJVLSNkwZ1BZK-TRojYalEadMPMYghHvD9CCN1g:1r31eq:oHeCnjjth8RDT2tjZCulerRmacWY4Br1LCP3dGVCGL4",
		"", ":", "a:b:c", "garbage-value",
	} {
		f.Add(c)
	}
	st, err := New(basic(f, "5.2", nil), WithClock(func() time.Time { return time.Unix(frozen+10, 0) }))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, cookie string) {
		r := djangosession.Record{Key: cookie}
		err := st.Load(context.Background(), &r)
		if err != nil && !errors.Is(err, djangosession.ErrNotFound) {
			t.Fatalf("Load(%q) = %v", cookie, err)
		}
		if err == nil && r.Data == nil {
			t.Fatal("nil data")
		}
		if r.Key != cookie {
			t.Fatal("key changed")
		}
	})
}
