package filestore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/internal/peer"
	"github.com/djsession/djsession/pyvalue"
)

// payloads are the versions of one session the writer alternates between;
// sizes differ so that a torn write would show as a truncated value.
func payloads() []*pyvalue.Dict {
	var out []*pyvalue.Dict
	for i, n := range []int{1, 300, 5000} {
		big := make([]byte, n)
		for j := range big {
			big[j] = byte('a' + (i+j)%26)
		}
		out = append(out, dictOf("version", int64(i), "blob", string(big)))
	}
	return out
}

// TestConcurrentGoReaders: one Go writer rewrites a session file as fast as
// it can while Go readers load it; every load must see one complete version.
func TestConcurrentGoReaders(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := basicSettings(t, "5.2", dir)
	st, err := New(s) // real clock: mtime-based expiry must keep passing
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const key = "concurrent0000000000000000000000"
	ps := payloads()
	r := djangosession.Record{Key: key, Data: ps[0]}
	if err := st.Save(ctx, &r, true); err != nil {
		t.Fatal(err)
	}
	// The writer does a fixed number of rewrites (a file-system-bound
	// operation, slow on a loaded machine); readers load until it is done.
	const rewrites = 60
	var stop atomic.Bool
	var wg sync.WaitGroup
	var writes atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer stop.Store(true)
		for i := 1; i <= rewrites; i++ {
			r := djangosession.Record{Key: key, Data: ps[i%len(ps)]}
			if err := st.Save(ctx, &r, false); err != nil {
				t.Error(err)
				return
			}
			writes.Add(1)
		}
	}()
	var loads atomic.Int64
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				r := djangosession.Record{Key: key}
				if err := st.Load(ctx, &r); err != nil {
					t.Error(err)
					return
				}
				if r.Key != key || !oneOf(r.Data, ps) {
					t.Errorf("torn read: key %q, data %d keys", r.Key, r.Data.Len())
					return
				}
				loads.Add(1)
			}
		}()
	}
	wg.Wait()
	if writes.Load() != rewrites || loads.Load() < rewrites {
		t.Fatalf("too little overlap: %d writes, %d loads", writes.Load(), loads.Load())
	}
	t.Logf("%d writes, %d loads", writes.Load(), loads.Load())
	for _, n := range listDir(t, dir) {
		if n != "sessionid"+key {
			t.Fatalf("left over: %s", n)
		}
	}
}

func oneOf(d *pyvalue.Dict, ps []*pyvalue.Dict) bool {
	for _, p := range ps {
		if pyvalue.Equal(d, p) {
			return true
		}
	}
	return false
}

// TestConcurrentDjangoReader: a Go writer rewrites the file while real
// Django (3.2) loads it in a loop for 1.5 s; Django must never see an empty,
// torn or undecodable file (it would return {} or switch to a new key).
func TestConcurrentDjangoReader(t *testing.T) {
	peer.Require(t)
	ctx := context.Background()
	dir := t.TempDir()
	s := basicSettings(t, "3.2", dir)
	st, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const key = "djangoreader00000000000000000000"
	ps := payloads()
	r := djangosession.Record{Key: key, Data: ps[0]}
	if err := st.Save(ctx, &r, true); err != nil {
		t.Fatal(err)
	}
	expected := make([]map[string]any, len(ps))
	for i, p := range ps {
		v, _ := p.Get("version")
		b, _ := p.Get("blob")
		expected[i] = map[string]any{"version": v, "blob": b}
	}
	in, _ := json.Marshal(expected)
	python := peer.Python // the interpreter peer.Require checked
	if p := os.Getenv("DJS_PYTHON"); p != "" {
		python = p
	}
	cmd := exec.Command(python, filepath.Join("testdata", "django_reader.py"), dir, key, "1.5", specSecret)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	if !sc.Scan() {
		cmd.Wait()
		t.Fatalf("reader did not start: %s", stderr.String())
	}
	var stopWriting atomic.Bool
	done := make(chan struct{})
	var writes int64
	var werr error
	go func() {
		defer close(done)
		for i := 1; ; i++ {
			select {
			case <-ctx.Done():
				return
			default:
			}
			r := djangosession.Record{Key: key, Data: ps[i%len(ps)]}
			if err := st.Save(ctx, &r, false); err != nil {
				werr = err
				return
			}
			writes++
			if stopWriting.Load() {
				return
			}
		}
	}()
	if !sc.Scan() {
		stopWriting.Store(true)
		<-done
		cmd.Wait()
		t.Fatalf("reader failed: %s", stderr.String())
	}
	stopWriting.Store(true)
	<-done
	if err := cmd.Wait(); err != nil {
		t.Fatalf("reader: %v: %s", err, stderr.String())
	}
	if werr != nil {
		t.Fatal(werr)
	}
	var res struct {
		Loads, Bad int
		FirstBad   any `json:"first_bad"`
	}
	if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	t.Logf("Django loads %d, Go writes %d", res.Loads, writes)
	if res.Loads < 10 || writes < 10 {
		t.Fatalf("too little overlap: %d loads, %d writes", res.Loads, writes)
	}
	if res.Bad != 0 {
		t.Fatalf("Django saw %d bad loads, first %v", res.Bad, res.FirstBad)
	}
}

type limitedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.b) < 1<<16 {
		l.b = append(l.b, p...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// TestClearExpiredVanishing: files deleted (by another process's
// clear-expired or logout) while the scan runs are simply gone, not errors.
func TestClearExpiredVanishing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := newStore(t, basicSettings(t, "5.2", dir), newClock(frozen))
	var keys []string
	for i := 0; i < 400; i++ {
		k := fmt.Sprintf("vanish%026d", i)
		keys = append(keys, k)
		// Half expired, half fresh.
		mt := int64(frozen - 10)
		if i%2 == 0 {
			mt = frozen - 1209600 - 10
		}
		writeSession(t, dir, "sessionid"+k, encodedA1, mt)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := len(keys) - 1; i >= 0; i-- {
			os.Remove(filepath.Join(dir, "sessionid"+keys[i]))
		}
	}()
	for i := 0; i < 3; i++ {
		if err := st.ClearExpired(ctx); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if got := listDir(t, dir); len(got) != 0 {
		t.Fatalf("left: %d files", len(got))
	}
}
