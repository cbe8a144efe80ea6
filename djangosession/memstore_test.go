package djangosession

import (
	"context"
	"sync"
	"time"
)

// memStore is an in-memory test double of the db engine's semantics
// (encoded data, expire_date > now on load, must-create / must-update), used
// to test Session in isolation. The engines are tested against real servers
// in their own packages.
type memStore struct {
	mu    sync.Mutex
	codec *Codec
	now   func() time.Time
	rows  map[string]memRow
	calls []string // operations in order, for tests of what Session does

	// failNext makes the next call of that operation fail.
	failNext map[string]error
	// takenKeys are reported as existing (collision tests).
	takenKeys map[string]bool
	// createCollisions makes that many must-create saves fail with
	// ErrKeyExists although Exists said the key was free (a race).
	createCollisions int
}

type memRow struct {
	data   string
	expire time.Time
}

func newMemStore(codec *Codec, now func() time.Time) *memStore {
	return &memStore{codec: codec, now: now, rows: map[string]memRow{}, failNext: map[string]error{}, takenKeys: map[string]bool{}}
}

func (m *memStore) fail(op string) error {
	m.calls = append(m.calls, op)
	if err := m.failNext[op]; err != nil {
		delete(m.failNext, op)
		return err
	}
	return nil
}

func (m *memStore) Load(ctx context.Context, r *Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail("load"); err != nil {
		return err
	}
	row, ok := m.rows[r.Key]
	if !ok || !row.expire.After(m.now()) {
		return ErrNotFound
	}
	r.Data = m.codec.DecodeOrEmpty(row.data)
	r.ExpireDate = row.expire
	return nil
}

func (m *memStore) Exists(ctx context.Context, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail("exists"); err != nil {
		return false, err
	}
	_, ok := m.rows[key]
	return ok || m.takenKeys[key], nil
}

func (m *memStore) Save(ctx context.Context, r *Record, mustCreate bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	op := "update"
	if mustCreate {
		op = "create"
	}
	if err := m.fail(op); err != nil {
		return err
	}
	_, exists := m.rows[r.Key]
	if mustCreate && m.createCollisions > 0 {
		m.createCollisions--
		exists = true
	}
	if mustCreate && exists {
		return ErrKeyExists
	}
	if !mustCreate && !exists {
		return ErrSessionInterrupted
	}
	data, err := m.codec.Encode(r.Data)
	if err != nil {
		return err
	}
	m.rows[r.Key] = memRow{data: data, expire: r.ExpireDate}
	return nil
}

func (m *memStore) Delete(ctx context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail("delete"); err != nil {
		return err
	}
	delete(m.rows, key)
	return nil
}

func (m *memStore) ClearExpired(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, r := range m.rows {
		if r.expire.Before(m.now()) {
			delete(m.rows, k)
		}
	}
	return nil
}

func (m *memStore) takeCalls() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.calls
	m.calls = nil
	return c
}

// cookieStore is a test double of the signed_cookies engine: the key is the
// encoded data.
type cookieStore struct {
	codec *Codec
}

func (c *cookieStore) KeyFromData() bool { return true }

func (c *cookieStore) Load(ctx context.Context, r *Record) error {
	d, err := c.codec.Decode(r.Key)
	if err != nil {
		return ErrNotFound
	}
	r.Data = d
	return nil
}

func (c *cookieStore) Exists(ctx context.Context, key string) (bool, error) { return false, nil }

func (c *cookieStore) Save(ctx context.Context, r *Record, mustCreate bool) error {
	v, err := c.codec.Encode(r.Data)
	if err != nil {
		return err
	}
	r.Key = v
	return nil
}

func (c *cookieStore) Delete(ctx context.Context, key string) error { return nil }

func (c *cookieStore) ClearExpired(ctx context.Context) error { return nil }

// renewingStore is a test double of the file engine's load of an expired
// session: it answers with a fresh empty session under a new key.
type renewingStore struct{ memStore }

func (r *renewingStore) Load(ctx context.Context, rec *Record) error {
	rec.Key = "renewedkey0000000000000000000000"
	rec.Data = nil
	return nil
}
