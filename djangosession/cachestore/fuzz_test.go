package cachestore

import (
	"bufio"
	"bytes"
	"net"
	"testing"
)

// FuzzDecodeMemcached: any bytes under any flags decode or fail cleanly.
func FuzzDecodeMemcached(f *testing.F) {
	f.Add([]byte("\x80\x05\x95\n\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s."), uint32(1))
	f.Add([]byte("12_3"), uint32(2))
	f.Add([]byte("x\x9c\x03\x00\x00\x00\x00\x01"), uint32(9))
	f.Fuzz(func(t *testing.T, b []byte, flags uint32) {
		decodeMemcached(FlavorPyMemcache, b, flags)
		decodeMemcached(FlavorPyLibMC, b, flags)
		decodeRedis(b)
	})
}

// FuzzReplies feeds arbitrary server output to the memcached and RESP
// reply parsers.
func FuzzReplies(f *testing.F) {
	f.Add([]byte("VALUE k 1 3\r\nabc\r\nEND\r\n"))
	f.Add([]byte("$3\r\nabc\r\n"))
	f.Add([]byte("*2\r\n:1\r\n$-1\r\n"))
	f.Add([]byte("VALUE k 1 999999999999\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, z := net.Pipe()
		defer a.Close()
		go func() {
			// Drain the request, then answer with the fuzz input.
			buf := make([]byte, 512)
			z.Read(buf)
			z.Write(b)
			z.Close()
		}()
		c := &conn{c: a, r: bufio.NewReader(a), w: bufio.NewWriter(a)}
		getItem(c, "k")
		c2 := &conn{r: bufio.NewReader(bytes.NewReader(b))}
		readReply(c2, 0)
	})
}

// FuzzLocations: LOCATION strings and server specs.
func FuzzLocations(f *testing.F) {
	f.Add("127.0.0.1:11211;[::1]:1,unix:/x")
	f.Add("redis://u:p@h:1/2?db=3")
	f.Fuzz(func(t *testing.T, s string) {
		locs, _ := Locations(s)
		for _, l := range locs {
			parseMemcachedServer(l)
			parseRedisURL(l)
		}
		parsePyInt([]byte(s))
		pyMurmur3(s)
		OneAtATime(s)
	})
}
