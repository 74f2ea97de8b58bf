// Package toolcache keeps agw-proxy's tool lists between runs, so that a
// client's first tools/list is answered at once, before the Gateway has
// been reached: one file per key (profile, Gateway URL, inbound identity,
// inject rules) in a folder of the user's cache directory.
//
// A file holds exactly what a client was given: the tools/list result after
// stripping and scrubbing. Files are written whole to a temporary file in
// the same folder and renamed into place, so a reader (another proxy, at
// once) sees an old entry or a new one, never a part. Each file names its
// format version, its key's digest, and the length and CRC-32C of the list:
// a file of another version, another key, or one cut short or altered is
// not an entry (Load reports none) and the next Store replaces it. Entries
// are bounded (MaxEntrySize) and so is their number (MaxEntries, oldest
// dropped first).
//
//	dir, err := toolcache.Dir()
//	if err != nil { ... } // no cache directory: run without a cache
//	c := toolcache.New(dir)
//	k := toolcache.Key{Profile: "work", GatewayURL: url, Identity: "client_id:abc", Rules: digest}
//	if e, ok := c.Load(k); ok {
//		serve(e.List) // the list the client got last time
//	}
//	_ = c.Store(k, list, n) // after listing the Gateway's tools again
package toolcache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Bounds of a Cache, unless its fields say otherwise.
const (
	// DefaultMaxEntrySize bounds one entry's list: a larger one is not
	// stored. (The Gateway's own bound on a list is 6 MB.)
	DefaultMaxEntrySize = 8 << 20
	// DefaultMaxEntries bounds the entries kept: storing one more drops
	// the oldest.
	DefaultMaxEntries = 64
)

// The file format: a header line, JSON, then the list's bytes.
const (
	formatName    = "agw-proxy tool list"
	formatVersion = 2 // 2: the list's CRC-32C, not its SHA-256 (1)
	// maxHeader bounds the header line.
	maxHeader = 4 << 10
	// Entry files are prefix + the key's digest + suffix; a writer's
	// temporary file is prefix + random + tmpSuffix.
	prefix    = "tools-"
	suffix    = ".list"
	tmpSuffix = ".tmp"
	// staleTemp is the age past which a temporary file is a crashed
	// writer's, and removed.
	staleTemp = 10 * time.Minute
)

// Dir returns the folder the cache lives in: agw-proxy in the user's cache
// directory (os.UserCacheDir: $XDG_CACHE_HOME or ~/.cache on Linux). It
// creates nothing.
func Dir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("toolcache: %w", err)
	}
	return filepath.Join(d, "agw-proxy"), nil
}

// A Key says whose list an entry is: a list is served only to the same
// profile, Gateway, inbound identity and inject rules it was made for. Its
// fields are not secrets, and the file holds their digest only (with the
// profile and the Gateway URL, for status).
type Key struct {
	Profile    string
	GatewayURL string
	// Identity is who the proxy is to the Gateway: "client_id:…", a user's
	// subject, an IAM ARN.
	Identity string
	// Rules stands for the inject rules (they decide the stripping): any
	// string that tells rule sets apart; the key is hashed.
	Rules string
}

// digest is the key's SHA-256, hex: each field length-prefixed, so no two
// keys share one.
func (k Key) digest() string {
	h := sha256.New()
	for _, f := range []string{k.Profile, k.GatewayURL, k.Identity, k.Rules} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// An Entry is one stored list.
type Entry struct {
	Written time.Time // when it was stored
	Tools   int       // tools in List
	// List is the tools/list result as the client was given it.
	List []byte
}

// A Cache is the folder of entries. Its methods are safe for concurrent use,
// by goroutines and by processes sharing the folder.
type Cache struct {
	dir string
	// MaxEntrySize bounds one entry's list (default DefaultMaxEntrySize).
	MaxEntrySize int
	// MaxEntries bounds the entries kept (default DefaultMaxEntries).
	MaxEntries int
}

// New returns the cache in dir (see Dir). It touches nothing on disk:
// Store creates the folder.
func New(dir string) *Cache {
	return &Cache{dir: dir, MaxEntrySize: DefaultMaxEntrySize, MaxEntries: DefaultMaxEntries}
}

// Dir returns the cache's folder.
func (c *Cache) Dir() string { return c.dir }

func (c *Cache) path(k Key) string { return filepath.Join(c.dir, prefix+k.digest()+suffix) }

// header is an entry file's first line.
type header struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	Key     string    `json:"key"`
	Profile string    `json:"profile"`
	Gateway string    `json:"gateway"`
	Written time.Time `json:"written"`
	Tools   int       `json:"tools"`
	Size    int       `json:"size"`
	CRC32C  uint32    `json:"crc32c"`
}

// castagnoli is CRC-32C's table: the checksum guards against a file cut
// short or corrupted, not against someone who can write the file (who could
// write its checksum too), and it is computed by the CPU's own instruction:
// SHA-256 of a 1,000-tool list was about 18% of a warm start's CPU.
// Made at the first use, not at every start of the binary.
var castagnoli = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

// ErrNoEntry is the error of Entry when there is no usable entry for the key.
var ErrNoEntry = errors.New("toolcache: no entry")

// Load returns the entry for k, with one read of one file. A missing,
// foreign, corrupt or oversized file is no entry: ok is false, and the next
// Store for k replaces it.
func (c *Cache) Load(k Key) (e Entry, ok bool) {
	e, err := c.Entry(k)
	return e, err == nil
}

// Entry is Load with the reason there is no entry: an error that Is
// ErrNoEntry (or, for a file that exists but cannot be read, the error of
// the read).
func (c *Cache) Entry(k Key) (Entry, error) {
	f, err := os.Open(c.path(k))
	if errors.Is(err, fs.ErrNotExist) {
		return Entry{}, ErrNoEntry
	}
	if err != nil {
		return Entry{}, fmt.Errorf("toolcache: %w", err)
	}
	defer f.Close()
	// One read of at most the bound (and a byte more, to see a longer
	// file): a foreign file of any size costs no more.
	limit := int64(c.maxEntrySize()) + maxHeader + 1
	data, err := readAtMost(f, limit)
	if err != nil {
		return Entry{}, fmt.Errorf("toolcache: %w", err)
	}
	if int64(len(data)) == limit {
		return Entry{}, fmt.Errorf("%w: the file is larger than an entry may be", ErrNoEntry)
	}
	e, err := parse(data, k.digest())
	if err == nil && len(e.List) > c.maxEntrySize() {
		return Entry{}, fmt.Errorf("%w: the list is larger than an entry may be", ErrNoEntry)
	}
	return e, err
}

// growAfterStat, if set, runs between readAtMost's Stat and its reads: a
// test's seam to grow the file there.
var growAfterStat func()

// readAtMost reads f to its end, or to limit bytes. It is io.ReadAll of a
// LimitReader, but into a buffer of the file's size (and a byte, to see the
// end): io.ReadAll grows its buffer from 512 bytes, a dozen copies of a list
// of 1,000 tools and twice its size in garbage, which cost the warm start's
// first tools/list a collection. A file that grows as it is read is read
// on, up to limit, as io.ReadAll would.
func readAtMost(f *os.File, limit int64) ([]byte, error) {
	size := int64(512)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() >= 0 {
		size = fi.Size() + 1
	}
	size = min(size, limit)
	if growAfterStat != nil {
		growAfterStat()
	}
	data := make([]byte, 0, size)
	r := io.LimitReader(f, limit)
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := r.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return data, err
		}
	}
}

// parse reads an entry file's bytes, for the key with digest key.
func parse(data []byte, key string) (Entry, error) {
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 || nl > maxHeader {
		return Entry{}, fmt.Errorf("%w: not an entry file", ErrNoEntry)
	}
	var h header
	if err := json.Unmarshal(data[:nl], &h); err != nil || h.Format != formatName {
		return Entry{}, fmt.Errorf("%w: not an entry file", ErrNoEntry)
	}
	if h.Version != formatVersion {
		return Entry{}, fmt.Errorf("%w: format version %d, not %d", ErrNoEntry, h.Version, formatVersion)
	}
	if h.Key != key {
		return Entry{}, fmt.Errorf("%w: the file is another key's", ErrNoEntry)
	}
	list := data[nl+1:]
	if len(list) != h.Size || crc32.Checksum(list, castagnoli()) != h.CRC32C {
		return Entry{}, fmt.Errorf("%w: the list is cut short or altered", ErrNoEntry)
	}
	return Entry{Written: h.Written, Tools: h.Tools, List: list}, nil
}

// Store makes list, a tools/list result with tools tools, the entry for k,
// replacing any file there was: written whole to a temporary file in the
// folder and renamed into place. A list over MaxEntrySize is not stored
// (and the key's old entry removed). The folder is created 0700, files
// 0600. Then the oldest entries beyond MaxEntries are removed.
func (c *Cache) Store(k Key, list []byte, tools int) error {
	if len(list) > c.maxEntrySize() {
		_ = c.Remove(k)
		return fmt.Errorf("toolcache: the list has %d bytes, more than an entry may hold (%d)", len(list), c.maxEntrySize())
	}
	if err := c.mkdir(); err != nil {
		return err
	}
	h, err := json.Marshal(header{
		Format: formatName, Version: formatVersion, Key: k.digest(),
		Profile: k.Profile, Gateway: k.GatewayURL,
		Written: time.Now().UTC(), Tools: tools, Size: len(list), CRC32C: crc32.Checksum(list, castagnoli()),
	})
	if err != nil {
		return fmt.Errorf("toolcache: %w", err)
	}
	if len(h) >= maxHeader {
		return errors.New("toolcache: the key is too long to store")
	}
	// CreateTemp makes the file 0600.
	f, err := os.CreateTemp(c.dir, prefix+"*"+tmpSuffix)
	if err != nil {
		return fmt.Errorf("toolcache: %w", err)
	}
	tmp := f.Name()
	data := make([]byte, 0, len(h)+1+len(list))
	data = append(append(append(data, h...), '\n'), list...)
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, c.path(k))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("toolcache: %w", err)
	}
	c.prune()
	return nil
}

// mkdir creates the folder, 0700, and narrows an existing one to that.
func (c *Cache) mkdir() error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("toolcache: %w", err)
	}
	fi, err := os.Stat(c.dir)
	if err != nil {
		return fmt.Errorf("toolcache: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(c.dir, 0o700); err != nil {
			return fmt.Errorf("toolcache: %w", err)
		}
	}
	return nil
}

// prune removes the oldest entries beyond MaxEntries, and temporary files
// that crashed writers left. Another process may prune at the same time: a
// file already gone is no error.
func (c *Cache) prune() {
	type file struct {
		path string
		mod  time.Time
	}
	var entries []file
	for _, de := range c.files() {
		fi, err := de.Info()
		if err != nil {
			continue
		}
		path := filepath.Join(c.dir, de.Name())
		if strings.HasSuffix(de.Name(), tmpSuffix) {
			if time.Since(fi.ModTime()) > staleTemp {
				_ = os.Remove(path)
			}
			continue
		}
		entries = append(entries, file{path, fi.ModTime()})
	}
	if len(entries) <= c.maxEntries() {
		return
	}
	slices.SortFunc(entries, func(a, b file) int { return a.mod.Compare(b.mod) })
	for _, f := range entries[:len(entries)-c.maxEntries()] {
		_ = os.Remove(f.path)
	}
}

// files returns the folder's entry and temporary files: only the cache's
// own names.
func (c *Cache) files() []fs.DirEntry {
	des, err := os.ReadDir(c.dir)
	if err != nil {
		return nil
	}
	var out []fs.DirEntry
	for _, de := range des {
		n := de.Name()
		if de.Type().IsRegular() && strings.HasPrefix(n, prefix) && (strings.HasSuffix(n, suffix) || strings.HasSuffix(n, tmpSuffix)) {
			out = append(out, de)
		}
	}
	return out
}

// Remove removes the entry for k, if there is one.
func (c *Cache) Remove(k Key) error {
	if err := os.Remove(c.path(k)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("toolcache: %w", err)
	}
	return nil
}

// Clear removes every entry, and every temporary file of a writer, from the
// folder; nothing else. It returns how many entries it removed.
func (c *Cache) Clear() (int, error) {
	n := 0
	var errs []error
	for _, de := range c.files() {
		err := os.Remove(filepath.Join(c.dir, de.Name()))
		switch {
		case err == nil && strings.HasSuffix(de.Name(), suffix):
			n++
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("toolcache: %w", errors.Join(errs...))
	}
	return n, nil
}

func (c *Cache) maxEntrySize() int {
	if c.MaxEntrySize > 0 {
		return c.MaxEntrySize
	}
	return DefaultMaxEntrySize
}

func (c *Cache) maxEntries() int {
	if c.MaxEntries > 0 {
		return c.MaxEntries
	}
	return DefaultMaxEntries
}
