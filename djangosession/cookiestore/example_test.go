package cookiestore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/djangosession/cookiestore"
	"github.com/djsession/djsession/pyvalue"
)

// The cookie value is the session: Save produces it, Load verifies it.
func Example() {
	s, _ := djangosession.LoadSettings([]byte(`{
		"SECRET_KEY": "spec-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
		"SESSION_ENGINE": "django.contrib.sessions.backends.signed_cookies"}`))
	st, err := cookiestore.New(s)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	data := pyvalue.NewDict(1)
	data.Set("a", int64(1))
	w := djangosession.Record{Data: data}
	if err := st.Save(ctx, &w, true); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.HasPrefix(w.Key, "eyJhIjoxfQ:"))

	r := djangosession.Record{Key: w.Key}
	fmt.Println(st.Load(ctx, &r), r.Data.Len())

	tampered := djangosession.Record{Key: w.Key[:len(w.Key)-1] + "x"}
	fmt.Println(errors.Is(st.Load(ctx, &tampered), djangosession.ErrNotFound))
	// Output:
	// true
	// <nil> 1
	// true
}

// The middleware checks every session cookie against the browsers' limit.
func ExampleCheckSize() {
	err := cookiestore.CheckSize("sessionid", strings.Repeat("x", 5000), "Path=/", "HttpOnly")
	fmt.Println(errors.Is(err, cookiestore.ErrCookieTooLarge))
	fmt.Println(err)
	// Output:
	// true
	// djangosession: cookie "sessionid" is 5028 bytes (name, value and attributes), over the 4096 bytes browsers keep; the browser will likely drop it and the session will be lost
}
