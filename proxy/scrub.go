package proxy

import (
	"bytes"
	"encoding/json"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// Mask replaces every scrubbed secret.
const Mask = "[redacted]"

// A Scrubber removes known secrets from bytes that leave the process. It
// knows each secret in the encodings it may take on the way out: raw, JSON
// string-escaped up to three times (with and without Go's HTML escaping, since a
// target often echoes a token inside a JSON document that the Gateway then
// wraps in another JSON string), and URL-encoded.
//
// A Scrubber is safe for concurrent use. The zero value is not; use
// NewScrubber.
type Scrubber struct {
	mu      sync.RWMutex
	seen    map[tokenstore.Secret]bool
	forms   [][]byte // every encoding of every secret, longest first
	anchors [][]byte // per secret, a part that every encoding contains
}

// NewScrubber returns an empty Scrubber.
func NewScrubber() *Scrubber {
	return &Scrubber{seen: make(map[tokenstore.Secret]bool)}
}

// Add makes s known to the scrubber. Empty secrets are ignored.
func (sc *Scrubber) Add(s tokenstore.Secret) {
	if s == "" {
		return
	}
	sc.mu.RLock()
	known := sc.seen[s]
	sc.mu.RUnlock()
	if known {
		return
	}
	forms := encodings(string(s))
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.seen[s] {
		return
	}
	sc.seen[s] = true
	sc.anchors = append(sc.anchors, anchor(string(s)))
	for _, f := range forms {
		if !slices.ContainsFunc(sc.forms, func(g []byte) bool { return bytes.Equal(f, g) }) {
			sc.forms = append(sc.forms, f)
		}
	}
	// Longest first, so that a form is never cut by a shorter one it contains.
	slices.SortStableFunc(sc.forms, func(a, b []byte) int { return len(b) - len(a) })
}

// encodings returns the byte sequences under which s may appear in output.
func encodings(s string) [][]byte {
	var out [][]byte
	add := func(v string) {
		if v != "" && !slices.ContainsFunc(out, func(b []byte) bool { return string(b) == v }) {
			out = append(out, []byte(v))
		}
	}
	// Up to three levels of JSON string escaping: a token echoed inside a
	// JSON document, carried as text in a result, itself inside JSON.
	level := []string{s}
	for range 3 {
		var next []string
		for _, v := range level {
			add(v)
			next = append(next, jsonEscape(v, true), jsonEscape(v, false))
		}
		level = next
	}
	for _, v := range level {
		add(v)
	}
	add(url.QueryEscape(s))
	add(url.PathEscape(s))
	return out
}

// jsonEscape returns s as it appears inside a JSON string, without quotes.
func jsonEscape(s string, escapeHTML bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	_ = enc.Encode(s) // a string always encodes
	out := strings.TrimSuffix(b.String(), "\n")
	return out[1 : len(out)-1]
}

// anchor returns the longest run of s made of characters that neither JSON
// nor URL escaping changes, so that every encoding of s contains it: a
// message without any secret's anchor needs no further search.
func anchor(s string) []byte {
	unchanged := func(c byte) bool {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~'
	}
	best, start := "", -1
	for i := 0; i <= len(s); i++ {
		if i < len(s) && unchanged(s[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start > len(best) {
			best = s[start:i]
		}
		start = -1
	}
	// A short pattern is searched for with vector instructions; a long
	// one (a JWT is hundreds of bytes) would not be.
	return []byte(best[:min(len(best), maxAnchor)])
}

const maxAnchor = 32

// mayHold reports whether b contains the anchor of some known secret.
// Call with sc.mu held.
func (sc *Scrubber) mayHold(b []byte) bool {
	for _, a := range sc.anchors {
		if len(a) == 0 || bytes.Contains(b, a) {
			return true
		}
	}
	return false
}

// Scrub returns b with every known secret replaced by Mask. When b holds no
// secret, Scrub returns b itself and allocates nothing.
func (sc *Scrubber) Scrub(b []byte) []byte {
	sc.mu.RLock()
	defer sc.mu.RUnlock()
	if !sc.mayHold(b) {
		return b
	}
	copied := false
	for _, f := range sc.forms {
		if !bytes.Contains(b, f) {
			continue
		}
		if !copied {
			b = bytes.Clone(b)
			copied = true
		}
		b = bytes.ReplaceAll(b, f, []byte(Mask))
	}
	return b
}

// String returns s with every known secret replaced by Mask.
func (sc *Scrubber) String(s string) string {
	sc.mu.RLock()
	defer sc.mu.RUnlock()
	if !sc.mayHold([]byte(s)) {
		return s
	}
	for _, f := range sc.forms {
		if strings.Contains(s, string(f)) {
			s = strings.ReplaceAll(s, string(f), Mask)
		}
	}
	return s
}

// Writer returns a writer that scrubs each Write before passing it to w.
// A secret split across two writes is not caught, so use it where each
// write is a whole record, such as under a log/slog handler.
func (sc *Scrubber) Writer(w io.Writer) io.Writer {
	return scrubWriter{sc: sc, w: w}
}

type scrubWriter struct {
	sc *Scrubber
	w  io.Writer
}

func (s scrubWriter) Write(p []byte) (int, error) {
	if _, err := s.w.Write(s.sc.Scrub(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}
