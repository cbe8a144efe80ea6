// Command sqlite-service is a Go web service that shares sessions with a
// Django project through Django's own django_session table in SQLite.
//
//	go run ./examples/sqlite-service -db db.sqlite3 -addr 127.0.0.1:8080
//	curl -c jar -b jar http://127.0.0.1:8080/visit   # {"visits":1,...}
//	curl -c jar -b jar http://127.0.0.1:8080/visit   # {"visits":2,...}
//
// A Django project with the same SECRET_KEY and
// DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
// reads and writes the same sessions (request.session["visits"]), and its
// logged-in users show up in /whoami.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"log"
	"net/http"

	_ "github.com/mattn/go-sqlite3" // the library imports no driver: the program does

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/djangosession/dbstore"
)

func main() {
	dbPath := flag.String("db", "db.sqlite3", "SQLite file shared with Django")
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()

	// The same settings, under the same names, as the Django project's.
	settings, err := djangosession.LoadSettings([]byte(`{
		"SECRET_KEY": "change-me-to-the-django-secret-key",
		"TARGET_DJANGO_VERSION": "4.2",
		"USE_TZ": true}`))
	if err != nil {
		log.Fatal(err)
	}
	if err := settings.Validate(); err != nil {
		log.Fatal(err)
	}
	db, err := sql.Open("sqlite3", "file:"+*dbPath+"?_busy_timeout=5000")
	if err != nil {
		log.Fatal(err)
	}
	store, err := dbstore.New(db, dbstore.SQLite, settings)
	if err != nil {
		log.Fatal(err)
	}
	// Creates django_session exactly as Django's migration would (and
	// records the migration), unless Django already did.
	if err := store.Migrate(context.Background()); err != nil {
		log.Fatal(err)
	}
	sessions, err := djangosession.NewManager(store, settings)
	if err != nil {
		log.Fatal(err)
	}
	// Middleware is Django's SessionMiddleware: it hands each request its
	// lazy session and saves it, sets or deletes the cookie as Django would.
	mux := http.NewServeMux()
	mux.HandleFunc("/visit", visit)
	mux.HandleFunc("/whoami", whoami)
	log.Printf("listening on http://%s", *addr)
	log.Fatal(http.ListenAndServe(*addr, djangosession.Middleware(sessions, mux)))
}

// visit counts visits in the session, as a Django view would with
// request.session["visits"] = request.session.get("visits", 0) + 1.
func visit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s := djangosession.FromRequest(r)
	n, err := s.GetInt64(ctx, "visits")
	if err != nil && !errors.Is(err, djangosession.ErrKeyNotFound) {
		// ErrUnavailable: the database is down, which is not a logout.
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	// Change the session before writing the body: the middleware saves it
	// and sends the cookie with the response headers.
	if err := s.Set(ctx, "visits", n+1); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, map[string]any{"visits": n + 1})
}

// whoami reports the Django user logged in on this session, if any.
func whoami(w http.ResponseWriter, r *http.Request) {
	uid, ok, err := djangosession.UserID(r.Context(), djangosession.FromRequest(r))
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	// To check the login as django.contrib.auth.get_user() does, pass the
	// user's password field from auth_user to djangosession.VerifyAuth.
	writeJSON(w, map[string]any{"logged_in": ok, "user_id": uid})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
