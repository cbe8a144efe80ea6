package cachestore

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/djsession/djsession/djangosession"
)

// DefaultTimeout bounds one cache operation when the context has no
// deadline, so that a hung server cannot hang a request forever.
const DefaultTimeout = 5 * time.Second

// maxIdle is how many idle connections a server keeps.
const maxIdle = 16

// pool is a small connection pool for one server. A connection that saw
// any error is closed, never reused: the protocol state is unknown.
type pool struct {
	network, addr string
	tls           *tls.Config
	mu            sync.Mutex
	idle          []*conn
	closed        bool
}

type conn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
	// ready: the Redis connection is authenticated and on its database.
	ready bool
	// stop disarms the cancellation watch of the current operation.
	stop func() bool
}

func (p *pool) get(ctx context.Context) (*conn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, fmt.Errorf("cachestore: %s: client closed: %w", p.addr, djangosession.ErrUnavailable)
	}
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if err := setDeadline(ctx, c); err != nil {
			return nil, err
		}
		c.watch(ctx)
		return c, nil
	}
	p.mu.Unlock()
	dctx := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	var d net.Dialer
	nc, err := d.DialContext(dctx, p.network, p.addr)
	if err != nil {
		return nil, fmt.Errorf("cachestore: %s: %w: %w", p.addr, djangosession.ErrUnavailable, err)
	}
	if p.tls != nil {
		tc := tls.Client(nc, p.tls)
		if err := tc.HandshakeContext(dctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("cachestore: %s: %w: %w", p.addr, djangosession.ErrUnavailable, err)
		}
		nc = tc
	}
	c := &conn{c: nc, r: bufio.NewReaderSize(nc, 4096), w: bufio.NewWriterSize(nc, 4096)}
	if err := setDeadline(ctx, c); err != nil {
		return nil, err
	}
	c.watch(ctx)
	return c, nil
}

func setDeadline(ctx context.Context, c *conn) error {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(DefaultTimeout)
	}
	if err := c.c.SetDeadline(dl); err != nil {
		c.c.Close()
		return fmt.Errorf("cachestore: %w: %w", djangosession.ErrUnavailable, err)
	}
	return nil
}

// watch interrupts c's I/O when ctx is cancelled (a context without a
// deadline is otherwise only bounded by DefaultTimeout); put disarms it.
func (c *conn) watch(ctx context.Context) {
	if ctx.Done() != nil {
		c.stop = context.AfterFunc(ctx, func() { c.c.SetDeadline(time.Unix(1, 0)) })
	}
}

// put returns a healthy connection; err != nil closes it instead.
func (p *pool) put(c *conn, err error) {
	if c.stop != nil {
		if !c.stop() {
			err = context.Canceled // the deadline was cut: never reuse
		}
		c.stop = nil
	}
	if err != nil {
		c.c.Close()
		return
	}
	p.mu.Lock()
	if p.closed || len(p.idle) >= maxIdle {
		p.mu.Unlock()
		c.c.Close()
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

func (p *pool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range idle {
		c.c.Close()
	}
}

// netErr wraps an I/O failure as ErrUnavailable.
func netErr(addr string, err error) error {
	return fmt.Errorf("cachestore: %s: %w: %w", addr, djangosession.ErrUnavailable, err)
}
