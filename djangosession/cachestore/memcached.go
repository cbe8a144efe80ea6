package cachestore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/djsession/djsession/djangosession"
)

// MaxKeyLength is memcached's key limit (Django warns, then from 4.0
// raises, above it; the clients refuse it).
const MaxKeyLength = 250

// maxItemSize bounds the value length a server may announce before we
// allocate it (memcached's own item limit is 1 MiB by default, 1 GiB at
// most).
const maxItemSize = 128 << 20

// thirtyDays is memcached's limit for a relative exptime: larger values are
// Unix times.
const thirtyDays = 60 * 60 * 24 * 30

// Item is one raw memcached item.
type Item struct {
	// Key is the stored key (after KEY_FUNCTION).
	Key string
	// Value is the stored bytes.
	Value []byte
	// Flags are the item's client flags.
	Flags uint32
}

// Memcached is a memcached client speaking the text protocol, with the
// server selection, serialisation and timeout rules of one of Django's
// memcached backends (PyMemcacheCache or PyLibMCCache), and, for
// PyMemcacheCache, pymemcache's handling of a server that is down: after
// a failed call, calls to that server in the next second return a miss or
// "not stored" without an error, as they do in a Django process, and a
// server that keeps failing leaves the hash ring for a minute. It is safe
// for concurrent use; one Memcached is one Django process's cache
// connection.
type Memcached struct {
	flavor  Flavor
	servers []*pool
	names   []string
	sel     Selector
	key     KeyFunc
	now     func() time.Time
	// fails is pymemcache's memory of failing servers (nil for pylibmc,
	// which raises on every failed call).
	fails *pymcFailures
}

// MemcachedConfig configures NewMemcached.
type MemcachedConfig struct {
	// Flavor is FlavorPyMemcache or FlavorPyLibMC.
	Flavor Flavor
	// Servers are the LOCATION entries in order ("host:port", "host",
	// "[::1]:11211", "unix:/path" or "/path").
	Servers []string
	// KeyPrefix and Version are the cache's KEY_PREFIX and VERSION
	// (Django's defaults: "" and 1).
	KeyPrefix string
	Version   int
	// Now is the clock for memcached's absolute expiry times and for
	// pymemcache's retry and dead timeouts (time.Now by default).
	Now func() time.Time
}

// NewMemcached returns a client for cfg; it connects lazily.
func NewMemcached(cfg MemcachedConfig) (*Memcached, error) {
	if cfg.Flavor != FlavorPyMemcache && cfg.Flavor != FlavorPyLibMC {
		return nil, fmt.Errorf("cachestore: memcached flavor %d", cfg.Flavor)
	}
	if len(cfg.Servers) == 0 {
		return nil, fmt.Errorf("cachestore: memcached LOCATION is empty")
	}
	m := &Memcached{flavor: cfg.Flavor, key: NewKeyFunc(cfg.KeyPrefix, cfg.Version), now: cfg.Now}
	if m.now == nil {
		m.now = time.Now
	}
	for _, s := range cfg.Servers {
		network, addr, name, err := parseMemcachedServer(s)
		if err != nil {
			return nil, err
		}
		m.servers = append(m.servers, &pool{network: network, addr: addr})
		m.names = append(m.names, name)
	}
	if cfg.Flavor == FlavorPyMemcache {
		m.sel = RendezvousSelector{Nodes: m.names}
		m.fails = newPymcFailures(m.now())
	} else {
		m.sel = ModulaSelector{N: len(m.servers)}
	}
	return m, nil
}

// parseMemcachedServer normalises a server spec as pymemcache's
// normalize_server_spec does and returns where to dial and the node name
// RendezvousHash uses ("host:port", or the socket path).
func parseMemcachedServer(s string) (network, addr, name string, err error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "unix:"):
		p := strings.TrimPrefix(s, "unix:")
		return "unix", p, p, nil
	case strings.HasPrefix(s, "/"):
		return "unix", s, s, nil
	case s == "":
		return "", "", "", fmt.Errorf("cachestore: empty memcached server in LOCATION")
	}
	host, port := s, "11211"
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 {
			return "", "", "", fmt.Errorf("cachestore: bad memcached server %q", s)
		}
		host = s[1:end]
		if rest := s[end+1:]; rest != "" {
			if !strings.HasPrefix(rest, ":") {
				return "", "", "", fmt.Errorf("cachestore: bad memcached server %q", s)
			}
			port = rest[1:]
		}
	} else if i := strings.LastIndex(s, ":"); i >= 0 {
		host, port = s[:i], s[i+1:]
	}
	p, err := strconv.Atoi(port)
	if err != nil || p <= 0 || p > 65535 {
		return "", "", "", fmt.Errorf("cachestore: bad port in memcached server %q", s)
	}
	return "tcp", net.JoinHostPort(host, port), host + ":" + strconv.Itoa(p), nil
}

// Flavor returns the client library the cache emulates.
func (m *Memcached) Flavor() Flavor { return m.flavor }

// MakeKey implements Cache.
func (m *Memcached) MakeKey(key string) string { return m.key(key) }

// Server returns the LOCATION index and node name of the server holding
// storedKey.
func (m *Memcached) Server(storedKey string) (int, string) {
	i := m.sel.Pick(storedKey)
	return i, m.names[i]
}

// ValidKey reports whether a stored key is acceptable to memcached, by
// Django's memcache_key_warnings rules (at most 250 characters, no control
// characters, spaces or DEL) and the protocol's 250-byte limit.
func ValidKey(storedKey string) bool {
	// Bytes, not characters: the byte limit is the stricter of the two.
	if len(storedKey) > MaxKeyLength || storedKey == "" {
		return false
	}
	for i := 0; i < len(storedKey); i++ {
		if c := storedKey[i]; c < 33 || c == 127 {
			return false
		}
	}
	return true
}

// backendTimeout is BaseMemcachedCache.get_backend_timeout: 0 means
// "expired at once" (-1), more than 30 days becomes a Unix time.
func (m *Memcached) backendTimeout(timeout int64) int64 {
	if timeout == 0 {
		return -1
	}
	if timeout > thirtyDays {
		return timeout + m.now().Unix()
	}
	return timeout
}

// Get implements Cache.
func (m *Memcached) Get(ctx context.Context, key string) (any, bool, error) {
	it, ok, err := m.GetItem(ctx, m.key(key))
	if err != nil || !ok {
		return nil, false, err
	}
	v, err := decodeMemcached(m.flavor, it.Value, it.Flags)
	if err != nil {
		return nil, false, fmt.Errorf("cachestore: get %q: %w", it.Key, err)
	}
	return v, true, nil
}

// HasKey implements Cache (a get, as Django's BaseCache.has_key).
func (m *Memcached) HasKey(ctx context.Context, key string) (bool, error) {
	_, ok, err := m.GetItem(ctx, m.key(key))
	return ok, err
}

// Add implements Cache.
func (m *Memcached) Add(ctx context.Context, key string, value any, timeout int64) (bool, error) {
	return m.store(ctx, "add", key, value, timeout)
}

// Set implements Cache.
func (m *Memcached) Set(ctx context.Context, key string, value any, timeout int64) error {
	_, err := m.store(ctx, "set", key, value, timeout)
	return err
}

func (m *Memcached) store(ctx context.Context, verb, key string, value any, timeout int64) (bool, error) {
	b, flags, err := encodeValue(m.flavor, value)
	if err != nil {
		return false, fmt.Errorf("cachestore: %s: %w", verb, err)
	}
	return m.StoreItem(ctx, verb, Item{Key: m.key(key), Value: b, Flags: flags}, m.backendTimeout(timeout))
}

// Delete implements Cache.
func (m *Memcached) Delete(ctx context.Context, key string) (bool, error) {
	return m.DeleteItem(ctx, m.key(key))
}

// Close implements Cache.
func (m *Memcached) Close() error {
	for _, p := range m.servers {
		p.close()
	}
	return nil
}

func (m *Memcached) checkKey(storedKey string) error {
	if !ValidKey(storedKey) {
		return fmt.Errorf("cachestore: memcached key %.60q (length %d): %w", storedKey, len(storedKey), ErrInvalidKey)
	}
	return nil
}

// GetItem fetches a raw item by stored key from the server the selector
// picks.
func (m *Memcached) GetItem(ctx context.Context, storedKey string) (Item, bool, error) {
	if err := m.checkKey(storedKey); err != nil {
		return Item{}, false, err
	}
	i, failing, skip, err := m.route(storedKey)
	if err != nil || skip {
		return Item{}, false, err
	}
	it, ok, err := fetchItem(ctx, m.servers[i], storedKey)
	m.done(ctx, i, failing, err)
	return it, ok, err
}

func fetchItem(ctx context.Context, p *pool, storedKey string) (Item, bool, error) {
	c, err := p.get(ctx)
	if err != nil {
		return Item{}, false, err
	}
	it, ok, err := getItem(c, storedKey)
	p.put(c, err)
	if err != nil {
		return Item{}, false, wrapIO(p.addr, err)
	}
	return it, ok, nil
}

// route picks the server for storedKey. With pymemcache's failure memory
// the call may instead fail at once (no server left) or be skipped, which
// the caller reports as HashClient's default: a miss, "not stored", "not
// found". failing is passed on to done.
func (m *Memcached) route(storedKey string) (i int, failing, skip bool, err error) {
	if m.fails == nil {
		return m.sel.Pick(storedKey), false, false, nil
	}
	return m.fails.route(m.sel.(RendezvousSelector), storedKey, m.now())
}

// done reports the outcome of a call to server i to pymemcache's failure
// memory.
func (m *Memcached) done(ctx context.Context, i int, failing bool, err error) {
	if m.fails != nil {
		m.fails.done(ctx, i, failing, err, m.now())
	}
}

// StoreItem writes a raw item with verb "set" or "add" and a backend
// exptime (already converted by the memcached rules); it reports whether
// the server stored it.
func (m *Memcached) StoreItem(ctx context.Context, verb string, it Item, exptime int64) (bool, error) {
	if verb != "set" && verb != "add" {
		return false, fmt.Errorf("cachestore: unsupported memcached verb %q", verb)
	}
	if err := m.checkKey(it.Key); err != nil {
		return false, err
	}
	i, failing, skip, err := m.route(it.Key)
	if err != nil || skip {
		return false, err
	}
	stored, err := storeItem(ctx, m.servers[i], verb, it, exptime)
	m.done(ctx, i, failing, err)
	return stored, err
}

func storeItem(ctx context.Context, p *pool, verb string, it Item, exptime int64) (bool, error) {
	c, err := p.get(ctx)
	if err != nil {
		return false, err
	}
	c.w.WriteString(verb)
	c.w.WriteByte(' ')
	c.w.WriteString(it.Key)
	c.w.WriteByte(' ')
	c.w.WriteString(strconv.FormatUint(uint64(it.Flags), 10))
	c.w.WriteByte(' ')
	c.w.WriteString(strconv.FormatInt(exptime, 10))
	c.w.WriteByte(' ')
	c.w.WriteString(strconv.Itoa(len(it.Value)))
	c.w.WriteString("\r\n")
	c.w.Write(it.Value)
	c.w.WriteString("\r\n")
	var line string
	if err = c.w.Flush(); err == nil {
		line, err = readLine(c)
	}
	if err != nil {
		p.put(c, err)
		return false, wrapIO(p.addr, err)
	}
	switch line {
	case "STORED":
		p.put(c, nil)
		return true, nil
	case "NOT_STORED":
		p.put(c, nil)
		return false, nil
	}
	err = serverError(line)
	p.put(c, err)
	return false, wrapIO(p.addr, err)
}

// DeleteItem deletes a raw item; it reports whether it existed.
func (m *Memcached) DeleteItem(ctx context.Context, storedKey string) (bool, error) {
	if err := m.checkKey(storedKey); err != nil {
		return false, err
	}
	i, failing, skip, err := m.route(storedKey)
	if err != nil || skip {
		return false, err
	}
	deleted, err := deleteItem(ctx, m.servers[i], storedKey)
	m.done(ctx, i, failing, err)
	return deleted, err
}

func deleteItem(ctx context.Context, p *pool, storedKey string) (bool, error) {
	c, err := p.get(ctx)
	if err != nil {
		return false, err
	}
	c.w.WriteString("delete ")
	c.w.WriteString(storedKey)
	c.w.WriteString("\r\n")
	var line string
	if err = c.w.Flush(); err == nil {
		line, err = readLine(c)
	}
	if err == nil && line != "DELETED" && line != "NOT_FOUND" {
		err = serverError(line)
	}
	p.put(c, err)
	if err != nil {
		return false, wrapIO(p.addr, err)
	}
	return line == "DELETED", nil
}

func getItem(c *conn, key string) (Item, bool, error) {
	c.w.WriteString("get ")
	c.w.WriteString(key)
	c.w.WriteString("\r\n")
	if err := c.w.Flush(); err != nil {
		return Item{}, false, err
	}
	var it Item
	found := false
	for {
		line, err := readLine(c)
		if err != nil {
			return Item{}, false, err
		}
		if line == "END" {
			return it, found, nil
		}
		f := strings.Fields(line)
		if len(f) < 4 || f[0] != "VALUE" || found {
			return Item{}, false, serverError(line)
		}
		flags, err1 := strconv.ParseUint(f[2], 10, 32)
		n, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil || n < 0 || n > maxItemSize {
			return Item{}, false, fmt.Errorf("cachestore: malformed memcached reply %.80q", line)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return Item{}, false, err
		}
		if !bytes.HasSuffix(buf, []byte("\r\n")) {
			return Item{}, false, fmt.Errorf("cachestore: malformed memcached data block")
		}
		it = Item{Key: f[1], Value: buf[:n], Flags: uint32(flags)}
		found = true
	}
}

// readLine reads one CRLF-terminated reply line (bounded).
func readLine(c *conn) (string, error) {
	b, err := c.r.ReadSlice('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

type protoError struct{ line string }

func (e *protoError) Error() string { return "cachestore: server replied " + strconv.Quote(e.line) }

func serverError(line string) error { return &protoError{line: line} }

func wrapIO(addr string, err error) error {
	return fmt.Errorf("cachestore: %s: %w: %w", addr, djangosession.ErrUnavailable, err)
}
