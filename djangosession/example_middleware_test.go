package djangosession_test

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/djangosession/cookiestore"
)

// ExampleMiddleware serves a handler that counts visits in the session, as
// a Django view would with request.session["visits"] += 1. The middleware
// loads the session named by the cookie, saves it after the handler
// changed it and sets the cookie exactly as Django's SessionMiddleware
// does, so Django and Go share the session.
func ExampleMiddleware() {
	settings, err := djangosession.LoadSettings([]byte(`{
		"SECRET_KEY": "spec-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
		"TARGET_DJANGO_VERSION": "4.2",
		"SESSION_ENGINE": "django.contrib.sessions.backends.signed_cookies"}`))
	if err != nil {
		log.Fatal(err)
	}
	// A frozen clock makes the output reproducible; leave it out in a
	// real service.
	clock := func() time.Time { return time.Unix(1700000000, 0) }
	store, err := cookiestore.New(settings, cookiestore.WithClock(clock))
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := djangosession.NewManager(store, settings, djangosession.WithClock(clock))
	if err != nil {
		log.Fatal(err)
	}

	visits := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		s := djangosession.FromRequest(r) // request.session
		n, err := s.GetInt64(ctx, "visits")
		if err != nil && !errors.Is(err, djangosession.ErrKeyNotFound) {
			http.Error(w, "session unavailable", http.StatusServiceUnavailable)
			return
		}
		// Change the session before writing the body: the cookie goes out
		// with the headers.
		if err := s.Set(ctx, "visits", n+1); err != nil {
			http.Error(w, "session unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "visit %d", n+1)
	})
	handler := djangosession.Middleware(sessions, visits)

	// Two visits by one browser.
	var cookies []*http.Cookie
	for range 2 {
		req := httptest.NewRequest("GET", "/", nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		fmt.Println(rec.Body.String())
		fmt.Println(rec.Header().Get("Set-Cookie"))
		cookies = rec.Result().Cookies()
	}
	// The values are what Django 3.2 signs for {"visits": 1} and {"visits": 2}
	// at that time.

	// Output:
	// visit 1
	// sessionid=eyJ2aXNpdHMiOjF9:1r31eq:PQQLCuKaOHRRPLWfMqtdXMAn2ojyXpJbD3WIVFuitmA; expires=Tue, 28 Nov 2023 22:13:20 GMT; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax
	// visit 2
	// sessionid=eyJ2aXNpdHMiOjJ9:1r31eq:uCBzj8oliPOGZyP_r6DTTw49sfz0tgaWKVWtUQkiDS0; expires=Tue, 28 Nov 2023 22:13:20 GMT; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax
}
