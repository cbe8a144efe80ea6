package cachestore

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Redis is Django's RedisCache (4.0+) over a minimal RESP client: values
// serialised by RedisSerializer, writes to the first LOCATION entry, reads
// from a uniformly random other entry when there are several (Django treats
// them as replicas), timeouts max(0, t) with 0 meaning delete. It is safe
// for concurrent use.
type Redis struct {
	servers []*redisServer
	key     KeyFunc
}

type redisServer struct {
	pool     pool
	db       int
	user     string
	password string
}

// RedisConfig configures NewRedis.
type RedisConfig struct {
	// Servers are the LOCATION URLs in order: redis://[[user]:password@]
	// host[:port][/db], rediss:// (TLS) or unix://path[?db=N], as redis-py's
	// from_url reads them.
	Servers []string
	// KeyPrefix and Version are the cache's KEY_PREFIX and VERSION
	// (Django's defaults: "" and 1).
	KeyPrefix string
	Version   int
}

// NewRedis returns a client for cfg; it connects lazily.
func NewRedis(cfg RedisConfig) (*Redis, error) {
	if len(cfg.Servers) == 0 {
		return nil, fmt.Errorf("cachestore: redis LOCATION is empty")
	}
	r := &Redis{key: NewKeyFunc(cfg.KeyPrefix, cfg.Version)}
	for _, s := range cfg.Servers {
		srv, err := parseRedisURL(s)
		if err != nil {
			return nil, err
		}
		r.servers = append(r.servers, srv)
	}
	return r, nil
}

func parseRedisURL(s string) (*redisServer, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("cachestore: redis LOCATION %q: %w", s, err)
	}
	srv := &redisServer{}
	if u.User != nil {
		srv.user = u.User.Username()
		srv.password, _ = u.User.Password()
	}
	q := u.Query()
	switch u.Scheme {
	case "redis", "rediss":
		host, port := u.Hostname(), u.Port()
		if host == "" {
			host = "localhost"
		}
		if port == "" {
			port = "6379"
		}
		srv.pool = pool{network: "tcp", addr: net.JoinHostPort(host, port)}
		if u.Scheme == "rediss" {
			srv.pool.tls = &tls.Config{ServerName: host}
		}
		if p := strings.TrimPrefix(u.Path, "/"); p != "" {
			if srv.db, err = strconv.Atoi(p); err != nil {
				return nil, fmt.Errorf("cachestore: redis LOCATION %q: bad database number", s)
			}
		}
	case "unix":
		srv.pool = pool{network: "unix", addr: u.Path}
	default:
		return nil, fmt.Errorf("cachestore: redis LOCATION %q: scheme must be redis://, rediss:// or unix://", s)
	}
	if d := q.Get("db"); d != "" {
		if srv.db, err = strconv.Atoi(d); err != nil {
			return nil, fmt.Errorf("cachestore: redis LOCATION %q: bad db", s)
		}
	}
	if p := q.Get("password"); p != "" {
		srv.password = p
	}
	return srv, nil
}

// MakeKey implements Cache.
func (r *Redis) MakeKey(key string) string { return r.key(key) }

func (r *Redis) writeServer() *redisServer { return r.servers[0] }

// readServer is RedisCacheClient._get_connection_pool_index(write=False):
// a random replica, never the primary, when there are replicas.
func (r *Redis) readServer() *redisServer {
	if len(r.servers) == 1 {
		return r.servers[0]
	}
	return r.servers[1+rand.IntN(len(r.servers)-1)]
}

// Get implements Cache.
func (r *Redis) Get(ctx context.Context, key string) (any, bool, error) {
	b, ok, err := r.GetRaw(ctx, r.key(key))
	if err != nil || !ok {
		return nil, false, err
	}
	v, err := decodeRedis(b)
	if err != nil {
		return nil, false, fmt.Errorf("cachestore: get %q: %w", r.key(key), err)
	}
	return v, true, nil
}

// GetRaw returns the raw value of a stored key from a read server.
func (r *Redis) GetRaw(ctx context.Context, storedKey string) ([]byte, bool, error) {
	rep, err := r.readServer().do(ctx, "GET", storedKey)
	if err != nil {
		return nil, false, err
	}
	if rep == nil {
		return nil, false, nil
	}
	b, ok := rep.([]byte)
	if !ok {
		return nil, false, fmt.Errorf("cachestore: redis GET: unexpected reply %T", rep)
	}
	return b, true, nil
}

// HasKey implements Cache (EXISTS on a read server).
func (r *Redis) HasKey(ctx context.Context, key string) (bool, error) {
	rep, err := r.readServer().do(ctx, "EXISTS", r.key(key))
	if err != nil {
		return false, err
	}
	n, _ := rep.(int64)
	return n > 0, nil
}

// Add implements Cache: SET NX EX t; with timeout <= 0 Django sets without
// expiry and deletes at once if it was stored.
func (r *Redis) Add(ctx context.Context, key string, value any, timeout int64) (bool, error) {
	b, _, err := encodeValue(FlavorRedis, value)
	if err != nil {
		return false, fmt.Errorf("cachestore: add: %w", err)
	}
	k := r.key(key)
	w := r.writeServer()
	t := max(0, timeout)
	var rep any
	if t == 0 {
		rep, err = w.do(ctx, "SET", k, b, "NX")
	} else {
		rep, err = w.do(ctx, "SET", k, b, "EX", strconv.FormatInt(t, 10), "NX")
	}
	if err != nil {
		return false, err
	}
	stored := rep != nil
	if stored && t == 0 {
		if _, err := w.do(ctx, "DEL", k); err != nil {
			return true, err
		}
	}
	return stored, nil
}

// Set implements Cache: SET EX t, or DEL when timeout <= 0.
func (r *Redis) Set(ctx context.Context, key string, value any, timeout int64) error {
	b, _, err := encodeValue(FlavorRedis, value)
	if err != nil {
		return fmt.Errorf("cachestore: set: %w", err)
	}
	k := r.key(key)
	if t := max(0, timeout); t > 0 {
		_, err = r.writeServer().do(ctx, "SET", k, b, "EX", strconv.FormatInt(t, 10))
	} else {
		_, err = r.writeServer().do(ctx, "DEL", k)
	}
	return err
}

// Delete implements Cache.
func (r *Redis) Delete(ctx context.Context, key string) (bool, error) {
	rep, err := r.writeServer().do(ctx, "DEL", r.key(key))
	if err != nil {
		return false, err
	}
	n, _ := rep.(int64)
	return n > 0, nil
}

// Close implements Cache.
func (r *Redis) Close() error {
	for _, s := range r.servers {
		s.pool.close()
	}
	return nil
}

// redisError is an error reply (-ERR ...).
type redisError string

func (e redisError) Error() string { return "cachestore: redis: " + string(e) }

// do runs one command on a pooled connection (selecting the database and
// authenticating on a new one).
func (s *redisServer) do(ctx context.Context, args ...any) (any, error) {
	c, err := s.pool.get(ctx)
	if err != nil {
		return nil, err
	}
	rep, err := s.roundTrip(c, args)
	s.pool.put(c, err)
	if err != nil {
		// Error replies (NOAUTH, OOM, READONLY ...) count as an unusable
		// server too, as Django surfaces them as exceptions.
		return nil, wrapIO(s.pool.addr, err)
	}
	return rep, nil
}

func (s *redisServer) roundTrip(c *conn, args []any) (any, error) {
	// A connection is new when it has never carried a command: mark it by
	// a field rather than a handshake per command.
	if !c.ready {
		if s.password != "" {
			a := []any{"AUTH", s.password}
			if s.user != "" {
				a = []any{"AUTH", s.user, s.password}
			}
			if _, err := cmd(c, a); err != nil {
				return nil, err
			}
		}
		if s.db != 0 {
			if _, err := cmd(c, []any{"SELECT", strconv.Itoa(s.db)}); err != nil {
				return nil, err
			}
		}
		c.ready = true
	}
	return cmd(c, args)
}

func cmd(c *conn, args []any) (any, error) {
	c.w.WriteByte('*')
	c.w.WriteString(strconv.Itoa(len(args)))
	c.w.WriteString("\r\n")
	for _, a := range args {
		var b []byte
		switch x := a.(type) {
		case string:
			b = []byte(x)
		case []byte:
			b = x
		}
		c.w.WriteByte('$')
		c.w.WriteString(strconv.Itoa(len(b)))
		c.w.WriteString("\r\n")
		c.w.Write(b)
		c.w.WriteString("\r\n")
	}
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	rep, err := readReply(c, 0)
	if err != nil {
		return nil, err
	}
	if re, ok := rep.(redisError); ok {
		return nil, re
	}
	return rep, nil
}

// readReply parses one RESP2 reply: simple string → string, error →
// redisError, integer → int64, bulk → []byte or nil, array → []any.
func readReply(c *conn, depth int) (any, error) {
	line, err := readLine(c)
	if err != nil {
		return nil, err
	}
	if line == "" {
		return nil, fmt.Errorf("cachestore: redis: empty reply line")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return redisError(line[1:]), nil
	case ':':
		return strconv.ParseInt(line[1:], 10, 64)
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n > maxItemSize {
			return nil, fmt.Errorf("cachestore: redis: bad bulk length %q", line)
		}
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return nil, err
		}
		return buf[:n], nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n > 1<<20 || depth > 8 {
			return nil, fmt.Errorf("cachestore: redis: bad array reply %q", line)
		}
		if n < 0 {
			return nil, nil
		}
		out := make([]any, 0, n)
		for i := 0; i < n; i++ {
			v, err := readReply(c, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("cachestore: redis: unexpected reply %.80q", line)
}
