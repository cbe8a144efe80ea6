package cachestore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/djsession/djsession/djangosession"
)

// pymemcache HashClient's options, which Django's PyMemcacheCache leaves at
// their defaults.
const (
	pymcRetryAttempts = 2
	pymcRetryTimeout  = time.Second
	pymcDeadTimeout   = 60 * time.Second
)

// errAllDown is HashClient's MemcacheError once every server is dead.
var errAllDown = fmt.Errorf("cachestore: all servers seem to be down right now: %w", djangosession.ErrUnavailable)

// pymcFailures is pymemcache HashClient's memory of failing servers, which
// decides what a Django process sees while a server is down: the first
// socket error on a server raises; calls to that server within the next
// retry timeout (1 s) quietly return the default (a miss, "not stored")
// without touching it; the first call after that retries it. A server that
// keeps failing (retry attempts used up) is dead: out of the hash ring for
// the dead timeout (60 s), its keys going to the other servers, and with
// none left every call fails. So a cached_db request that finds the cache
// down on its load saves without an error, as in Django.
type pymcFailures struct {
	mu        sync.Mutex
	failed    map[int]pymcFailure
	dead      map[int]time.Time
	lastCheck time.Time
}

type pymcFailure struct {
	attempts int
	at       time.Time
}

func newPymcFailures(now time.Time) *pymcFailures {
	return &pymcFailures{failed: map[int]pymcFailure{}, dead: map[int]time.Time{}, lastCheck: now}
}

// route is HashClient._get_client and the first half of _safely_run_func:
// the server for storedKey, whether it is failing, or skip when the call
// must quietly return the default.
func (f *pymcFailures) route(sel RendezvousSelector, storedKey string, now time.Time) (i int, failing, skip bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.dead) > 0 && now.Sub(f.lastCheck) > pymcDeadTimeout {
		for s, at := range f.dead {
			if now.Sub(at) > pymcDeadTimeout {
				delete(f.dead, s)
			}
		}
		f.lastCheck = now
	}
	if len(f.dead) == 0 {
		i = sel.Pick(storedKey) // one server: no hashing
	} else {
		i = sel.pickLive(storedKey, f.dead)
	}
	if i < 0 {
		return -1, false, false, errAllDown
	}
	fl, failing := f.failed[i]
	switch {
	case !failing:
		return i, false, false, nil
	case fl.attempts < pymcRetryAttempts:
		return i, true, now.Sub(fl.at) <= pymcRetryTimeout, nil
	}
	// Out of retries: HashClient removes the server from the ring, and
	// still runs this one call on it.
	delete(f.failed, i)
	f.dead[i] = now
	return i, false, false, nil
}

// done records the outcome of a call to server i, failing as route
// reported it: success clears its failure, a socket error (not a protocol
// error, not the caller's cancellation) counts one. The usual call, a
// success on a healthy server, changes nothing and takes no lock.
func (f *pymcFailures) done(ctx context.Context, i int, failing bool, err error, now time.Time) {
	if err == nil && !failing || err != nil && !socketError(ctx, err) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.failed, i)
		return
	}
	if fl, ok := f.failed[i]; ok {
		f.failed[i] = pymcFailure{attempts: fl.attempts + 1, at: now}
		return
	}
	f.failed[i] = pymcFailure{at: now}
}

// socketError reports whether err is what pymemcache counts as a server
// failure (socket.error): a network error, not the caller's cancellation.
func socketError(ctx context.Context, err error) bool {
	var ne net.Error
	return ctx.Err() == nil && errors.As(err, &ne)
}
