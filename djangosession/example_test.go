package djangosession_test

import (
	"context"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/pyvalue"
)

func ExampleCodec() {
	settings, err := djangosession.LoadSettings([]byte(`{
		"SECRET_KEY": "spec-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
		"TARGET_DJANGO_VERSION": "4.2"}`))
	if err != nil {
		log.Fatal(err)
	}
	frozen := func() time.Time { return time.Unix(1700000000, 0) }
	codec, err := djangosession.NewCodec(settings, djangosession.WithNow(frozen))
	if err != nil {
		log.Fatal(err)
	}
	d := pyvalue.NewDict(2)
	d.Set("foo", "bar")
	d.Set("n", int64(1))
	data, err := codec.Encode(d)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(data)

	back, err := codec.Decode(data)
	if err != nil {
		log.Fatal(err)
	}
	foo, _ := back.Get("foo")
	fmt.Println(foo)

	// Data that does not verify is an empty session, as in Django.
	fmt.Println(codec.DecodeOrEmpty("tampered" + data).Len())
	// Output:
	// eyJmb28iOiJiYXIiLCJuIjoxfQ:1r31eq:Ba-jsv1DmYmzprCnPI2Nvn8JRJl3mt9W99wjRAsAD9Q
	// bar
	// 0
}

func ExampleSessionAuthHash() {
	settings, _ := djangosession.LoadSettings([]byte(`{"SECRET_KEY":"spec-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"}`))
	fmt.Println(djangosession.SessionAuthHash(settings, "pbkdf2_sha256$600000$fixedsalt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="))
	// Output: 0618db4cc18c08b09c2268f1900e29d1cf5eef02f321e78135302313d1fe7aa5
}

// mapStore is a minimal in-memory Store for the example; real programs use
// an engine package (dbstore, filestore, cookiestore ...).
type mapStore struct {
	mu    sync.Mutex
	codec *djangosession.Codec
	rows  map[string]string
}

func (m *mapStore) Load(ctx context.Context, r *djangosession.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	data, ok := m.rows[r.Key]
	if !ok {
		return djangosession.ErrNotFound
	}
	r.Data = m.codec.DecodeOrEmpty(data)
	return nil
}

func (m *mapStore) Exists(ctx context.Context, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.rows[key]
	return ok, nil
}

func (m *mapStore) Save(ctx context.Context, r *djangosession.Record, mustCreate bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.rows[r.Key]
	if mustCreate && ok {
		return djangosession.ErrKeyExists
	}
	if !mustCreate && !ok {
		return djangosession.ErrSessionInterrupted
	}
	data, err := m.codec.Encode(r.Data)
	if err != nil {
		return err
	}
	m.rows[r.Key] = data
	return nil
}

func (m *mapStore) Delete(ctx context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.rows, key)
	return nil
}

func (m *mapStore) ClearExpired(ctx context.Context) error { return nil }

func ExampleSession() {
	ctx := context.Background()
	settings, _ := djangosession.LoadSettings([]byte(`{"SECRET_KEY":"example-secret"}`))
	codec, _ := djangosession.NewCodec(settings)
	store := &mapStore{codec: codec, rows: map[string]string{}}
	sessions, err := djangosession.NewManager(store, settings)
	if err != nil {
		log.Fatal(err)
	}

	// A request without a session cookie.
	s := sessions.Session("")
	if err := s.Set(ctx, "cart", int64(3)); err != nil {
		log.Fatal(err)
	}
	if err := s.SetExpiry(ctx, 300); err != nil {
		log.Fatal(err)
	}
	fmt.Println("modified:", s.Modified())
	if err := s.Save(ctx); err != nil { // creates a new random key
		log.Fatal(err)
	}
	cookie := s.Key()

	// The next request carries the cookie.
	s = sessions.Session(cookie)
	n, _ := s.GetInt64(ctx, "cart")
	age, _ := s.ExpiryAge(ctx)
	fmt.Println("cart:", n, "age:", age, "modified:", s.Modified())

	// Log a user in as django.contrib.auth.login() would, then check it as
	// get_user() would.
	if err := djangosession.Login(ctx, s, "42", "pbkdf2_sha256$...", ""); err != nil {
		log.Fatal(err)
	}
	fmt.Println("key cycled:", s.Key() != cookie)
	res, _ := djangosession.VerifyAuth(ctx, s, "pbkdf2_sha256$...")
	fmt.Println("accepted:", res.Accepted)
	// Output:
	// modified: true
	// cart: 3 age: 300 modified: false
	// key cycled: true
	// accepted: true
}
