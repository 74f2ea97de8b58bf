package toolcache

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var key = Key{Profile: "work", GatewayURL: "https://gw.example/mcp", Identity: "client_id:abc", Rules: "r1"}

const list = `{"tools":[{"name":"a","inputSchema":{"type":"object"}}]}`

func TestStoreThenLoad(t *testing.T) {
	c := New(filepath.Join(t.TempDir(), "agw-proxy"))
	if _, ok := c.Load(key); ok {
		t.Fatal("an empty cache has an entry")
	}
	before := time.Now().Add(-time.Second)
	if err := c.Store(key, []byte(list), 1); err != nil {
		t.Fatal(err)
	}
	e, ok := c.Load(key)
	if !ok || string(e.List) != list || e.Tools != 1 || e.Written.Before(before) {
		t.Fatalf("Load = %+v, %v", e, ok)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(c.Dir())
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("folder mode %v, %v; want 0700", fi.Mode().Perm(), err)
		}
		fi, err = os.Stat(c.path(key))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("file mode %v, %v; want 0600", fi.Mode().Perm(), err)
		}
	}
}

func TestEveryKeyFieldMakesAnotherEntry(t *testing.T) {
	c := New(t.TempDir())
	if err := c.Store(key, []byte(list), 1); err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]Key{
		"profile":  {Profile: "other", GatewayURL: key.GatewayURL, Identity: key.Identity, Rules: key.Rules},
		"gateway":  {Profile: key.Profile, GatewayURL: "https://gw2.example/mcp", Identity: key.Identity, Rules: key.Rules},
		"identity": {Profile: key.Profile, GatewayURL: key.GatewayURL, Identity: "client_id:xyz", Rules: key.Rules},
		"rules":    {Profile: key.Profile, GatewayURL: key.GatewayURL, Identity: key.Identity, Rules: "r2"},
		// Fields run together differently are another key too.
		"boundary": {Profile: key.Profile + key.GatewayURL[:1], GatewayURL: key.GatewayURL[1:], Identity: key.Identity, Rules: key.Rules},
	} {
		if _, ok := c.Load(k); ok {
			t.Errorf("another %s loads the entry", name)
		}
	}
}

func TestForeignAndCorruptFilesAreNoEntryAndAreReplaced(t *testing.T) {
	c := New(t.TempDir())
	if err := c.Store(key, []byte(list), 1); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(c.path(key))
	if err != nil {
		t.Fatal(err)
	}
	other := New(t.TempDir())
	otherKey := key
	otherKey.Identity = "client_id:someone-else"
	if err := other.Store(otherKey, []byte(list), 1); err != nil {
		t.Fatal(err)
	}
	foreignKey, _ := os.ReadFile(other.path(otherKey))
	nl := bytes.IndexByte(good, '\n')
	for name, data := range map[string][]byte{
		"empty":          {},
		"not ours":       []byte("hello\n" + list),
		"no header line": []byte(list),
		"cut short":      good[:len(good)-3],
		"one byte altered": func() []byte {
			b := bytes.Clone(good)
			b[len(b)-5] ^= 1
			return b
		}(),
		"newer version":   bytes.Replace(good, []byte(`"version":2`), []byte(`"version":3`), 1),
		"another's entry": foreignKey,
		"header only":     good[:nl+1],
		"binary":          {0, 1, 2, '\n', 0xff},
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(c.path(key), data, 0o600); err != nil {
				t.Fatal(err)
			}
			if e, ok := c.Load(key); ok {
				t.Fatalf("loaded %q", e.List)
			}
			if _, err := c.Entry(key); !errors.Is(err, ErrNoEntry) {
				t.Fatalf("Entry error %v, want ErrNoEntry", err)
			}
			if err := c.Store(key, []byte(list), 1); err != nil {
				t.Fatal(err)
			}
			if e, ok := c.Load(key); !ok || string(e.List) != list {
				t.Fatalf("not replaced: %q, %v", e.List, ok)
			}
		})
	}
}

func TestOversizedListsAreNotStoredNorRead(t *testing.T) {
	c := New(t.TempDir())
	c.MaxEntrySize = 100
	if err := c.Store(key, []byte(list), 1); err != nil {
		t.Fatal(err)
	}
	big := []byte(`{"tools":[` + strings.Repeat(`{"name":"x"},`, 20) + `{"name":"y"}]}`)
	if err := c.Store(key, big, 21); err == nil {
		t.Fatal("a list over the bound was stored")
	}
	if _, ok := c.Load(key); ok {
		t.Fatal("the old entry stayed, though the list is another now")
	}
	// A file over the bound (written by a cache with a larger one) is
	// not read.
	large := New(c.Dir())
	if err := large.Store(key, big, 21); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Load(key); ok {
		t.Fatal("a file over the bound was read")
	}
}

func TestOldestEntriesAreDropped(t *testing.T) {
	c := New(t.TempDir())
	c.MaxEntries = 3
	k := func(i int) Key { return Key{Profile: fmt.Sprint("p", i)} }
	base := time.Now().Add(-time.Hour)
	for i := range 5 {
		if err := c.Store(k(i), []byte(list), 1); err != nil {
			t.Fatal(err)
		}
		// Distinct ages, oldest first, whatever the clock's resolution.
		at := base.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(c.path(k(i)), at, at); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		_, ok := c.Load(k(i))
		// Entry 4 was pruned against 0..3 after its store, so 0 and 1
		// are gone and 2, 3, 4 stay.
		if want := i >= 2; ok != want {
			t.Errorf("entry %d present %v, want %v", i, ok, want)
		}
	}
}

func TestClearRemovesOnlyTheCachesFiles(t *testing.T) {
	dir := t.TempDir()
	c := New(dir)
	for i := range 3 {
		if err := c.Store(Key{Profile: fmt.Sprint("p", i)}, []byte(list), 1); err != nil {
			t.Fatal(err)
		}
	}
	// A writer's leftover, and files that are not the cache's.
	for _, name := range []string{"tools-123.tmp", "notes.txt", "tools-x.json"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	n, err := c.Clear()
	if err != nil || n != 3 {
		t.Fatalf("Clear = %d, %v; want 3", n, err)
	}
	des, _ := os.ReadDir(dir)
	var left []string
	for _, de := range des {
		left = append(left, de.Name())
	}
	if strings.Join(left, " ") != "notes.txt tools-x.json" {
		t.Fatalf("left %v", left)
	}
	if n, err := New(filepath.Join(dir, "none")).Clear(); n != 0 || err != nil {
		t.Fatalf("Clear of no folder = %d, %v", n, err)
	}
}

// TestConcurrentWritersAndReadersSeeWholeEntries is several proxies (here
// goroutines with caches of their own on one folder) storing and loading
// one key at once: every load is a whole list one of them stored.
func TestConcurrentWritersAndReadersSeeWholeEntries(t *testing.T) {
	dir := t.TempDir()
	lists := make(map[string]bool)
	var all [][]byte
	for w := range 4 {
		// Large enough that a torn read would be likely.
		l := []byte(`{"tools":[` + strings.Repeat(fmt.Sprintf(`{"name":"w%d"},`, w), 20000) + `{"name":"end"}]}`)
		lists[string(l)] = true
		all = append(all, l)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 100)
	for w := range 4 {
		wg.Go(func() {
			c := New(dir)
			for range 30 {
				if err := c.Store(key, all[w], 20001); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var loads, hits int
	var mu sync.Mutex
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			c := New(dir)
			seen := false // this reader has loaded an entry
			for {
				select {
				case <-stop:
					return
				default:
				}
				e, err := c.Entry(key)
				mu.Lock()
				loads++
				if err == nil {
					hits++
				}
				mu.Unlock()
				switch {
				case err == nil && !lists[string(e.List)]:
					errs <- errors.New("a load returned a list no writer stored")
					return
				case err != nil && !errors.Is(err, ErrNoEntry):
					errs <- err
					return
				case err != nil && seen:
					// Once there is an entry, a rename never leaves
					// the name without one.
					errs <- fmt.Errorf("a load after an entry found none: %v", err)
					return
				}
				seen = seen || err == nil
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if hits == 0 {
		t.Error("no load saw an entry")
	}
	des, _ := os.ReadDir(dir)
	if len(des) != 1 {
		t.Errorf("%d files left, want the one entry (no temporary files)", len(des))
	}
	t.Logf("%d loads, %d entries seen", loads, hits)
}
