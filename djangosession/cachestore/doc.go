// Package cachestore is Django's "cache" session engine
// (django.contrib.sessions.backends.cache) and the cache clients it needs,
// byte-compatible with Django's memcached and Redis backends:
//
//   - Memcached speaks memcached's text protocol and reproduces either
//     PyMemcacheCache (pymemcache's HashClient: RendezvousHash over
//     murmur3, ints flagged 2) or PyLibMCCache (libmemcached's default
//     one-at-a-time hash with modula distribution, ints flagged 4, bools
//     flagged 2), so that with several servers in LOCATION every key lands
//     on the server the Python client uses. Timeouts follow
//     BaseMemcachedCache: 0 → -1, above 30 days an absolute Unix time.
//   - Redis reproduces RedisCache (Django 4.0+): RedisSerializer (pickle,
//     ASCII for ints), SET EX / SET NX EX, timeout 0 meaning delete, writes
//     to the first LOCATION entry and reads from a random other one.
//
// Keys are KEY_PREFIX:VERSION:key (Django's default KEY_FUNCTION). Session
// dicts are pickled at protocol 5 with flags 1; readers accept every flag
// form the three memcached clients write (0 raw bytes, 2/4 ints, 16 text,
// 1 pickle, 8 zlib-compressed, bounded against zlib bombs).
//
// Failure model, chosen to match Django and still let callers see an
// outage: Store.Load turns every cache failure into a miss, as Django does,
// but the error it returns is a *LoadError, for which both
// errors.Is(err, djangosession.ErrNotFound) (what djangosession.Session
// acts on: empty session, key dropped) and, for a server that is down,
// errors.Is(err, djangosession.ErrUnavailable) hold. Save, Exists and
// Delete return errors wrapping djangosession.ErrUnavailable, as Django
// raises. With PyMemcacheCache that is the first failure only: like
// pymemcache, the client then skips the server for a second (a miss, "not
// stored", no error), retries it, and after repeated failures takes it out
// of the hash ring for a minute, its keys moving to the other servers. A key
// memcached cannot hold (spaces, control characters, over 250 bytes) is a
// miss for Load and absent for Exists.
//
// Not implemented: python-memcached's MemcachedCache (Django 3.2 only),
// pylibmc with non-default behaviors (ketama, other hashes), the binary
// protocol, and a TIMEOUT of None (sessions always pass a number).
package cachestore
