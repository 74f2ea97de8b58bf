package proxy

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// Mask replaces every scrubbed secret.
const Mask = "[redacted]"

// The partial-leak policy. A secret is found in text when the text holds it
// whole, or holds a run of at least MinRun of its characters in order (a
// secret minus its first or last character, a long prefix). A run made of
// decimal digits only is not taken for the secret unless it is all of it:
// an Asana personal access token carries the user's and the token's numeric
// gids ("2/1205123456789012/…"), which the API returns in its own answers,
// and masking them would redact the user's own gid from every result.
const MinRun = 16

// maxDecodings bounds how many decoding steps (see decodeOnce) the scrubber
// applies one after another: a token JSON-escaped inside a JSON document
// carried as text in a result, itself inside JSON, takes three.
const maxDecodings = 4

// A Scrubber removes known secrets from what leaves the process. It finds a
// secret by meaning, not by byte pattern: in the bytes as they are and in
// what they decode to, one step after another (JSON string escapes,
// percent-encoding and HTML character references, anywhere in the text, see
// decodeOnce), and masks the bytes that decode to it. A run of MinRun
// characters of a secret counts as the secret.
//
// Text with no secret is returned as it is, without a copy: a first pass
// looks only at every ninth byte of the input (see index.find) and for
// escapes that could hide a secret, so the common case costs a fraction of
// one read of the bytes.
//
// A Scrubber is safe for concurrent use. The zero value is not; use
// NewScrubber.
type Scrubber struct {
	mu sync.Mutex            // serializes Add
	ix atomic.Pointer[index] // what Scrub reads, replaced as a whole by Add
}

// NewScrubber returns an empty Scrubber.
func NewScrubber() *Scrubber {
	sc := &Scrubber{}
	sc.ix.Store(&index{seen: map[string]bool{}})
	return sc
}

// Add makes s known to the scrubber. Empty secrets are ignored.
func (sc *Scrubber) Add(s tokenstore.Secret) {
	if s == "" || sc.ix.Load().seen[string(s)] {
		return
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	old := sc.ix.Load()
	if old.seen[string(s)] {
		return
	}
	sc.ix.Store(old.with(string(s)))
}

// Scrub returns b with every known secret masked, in whatever form b holds
// it. When b holds none, Scrub returns b itself.
func (sc *Scrubber) Scrub(b []byte) []byte {
	ix := sc.ix.Load()
	if !ix.mayHold(b) {
		return b
	}
	return mask(b, ix.spans(b), false)
}

// ScrubJSON is Scrub for one JSON value, such as a JSON-RPC message: the
// result is valid JSON whenever b is. Only the bytes of a secret change;
// everything else keeps its bytes.
func (sc *Scrubber) ScrubJSON(b []byte) []byte {
	ix := sc.ix.Load()
	if !ix.mayHold(b) {
		return b
	}
	return mask(b, ix.spans(b), true)
}

// String returns s with every known secret masked.
func (sc *Scrubber) String(s string) string {
	ix := sc.ix.Load()
	if !ix.mayHold([]byte(s)) {
		return s
	}
	b := []byte(s)
	return string(mask(b, ix.spans(b), false))
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

// An index is an immutable set of secrets, arranged for searching.
//
// Secrets of MinRun bytes or more are found through their 8-byte grams: a
// run of MinRun bytes of a secret in the text covers a whole gram at one of
// any 9 consecutive positions, so looking up the 8 bytes at every ninth
// position of the text finds every such run. A lookup is a test of two bits
// of a Bloom filter; only the rare hit goes on to the gram table and a
// comparison with the secret. Shorter secrets are searched for whole.
type index struct {
	seen   map[string]bool // the secrets as added
	forms  [][]byte        // what is searched for: each secret, and variants
	short  [][]byte        // forms shorter than MinRun
	grams  map[uint64][]gramRef
	bloom  []uint64
	shift  uint // 64 - log2(words in bloom)
	strict bool // a secret holds a character JSON escapes (`"`, `\`, control)
	// allDigitForm[i] reports that forms[i] is made of digits only.
	allDigitForm []bool
}

type gramRef struct {
	form int32 // index in forms
	off  int32 // where the gram starts in the form
}

const (
	gramLen    = 8
	gramStride = MinRun - gramLen + 1
)

// with returns a new index holding the secrets of ix and s.
func (ix *index) with(s string) *index {
	n := &index{seen: make(map[string]bool, len(ix.seen)+1), strict: ix.strict}
	for k := range ix.seen {
		n.seen[k] = true
	}
	n.seen[s] = true
	n.forms = slices.Clone(ix.forms)
	add := func(f string) {
		if !slices.ContainsFunc(n.forms, func(g []byte) bool { return string(g) == f }) {
			n.forms = append(n.forms, []byte(f))
		}
	}
	add(s)
	// A space is '+' in a form-encoded query string; decoding does not
	// undo that, since a '+' may as well be a plus.
	if strings.Contains(s, " ") {
		add(strings.ReplaceAll(s, " ", "+"))
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r == '"' || r == '\\' || r < 0x20 }) {
		n.strict = true
	}

	ngrams := 0
	for _, f := range n.forms {
		n.allDigitForm = append(n.allDigitForm, allDigits(f))
		if len(f) >= MinRun {
			ngrams += len(f) - gramLen + 1
		} else {
			n.short = append(n.short, f)
		}
	}
	// 64 bits per gram, two of them set per gram in one word: about one
	// false hit in a thousand lookups, at one memory access each.
	words := max(1<<10, ngrams)
	logWords := bits.Len(uint(words - 1))
	n.bloom = make([]uint64, 1<<logWords)
	n.shift = uint(64 - logWords)
	n.grams = make(map[uint64][]gramRef, ngrams)
	for fi, f := range n.forms {
		if len(f) < MinRun {
			continue
		}
		for off := 0; off+gramLen <= len(f); off++ {
			g := binary.LittleEndian.Uint64(f[off:])
			n.grams[g] = append(n.grams[g], gramRef{int32(fi), int32(off)})
			w, m := n.bloomAt(g)
			n.bloom[w] |= m
		}
	}
	return n
}

// bloomAt returns the word of the Bloom filter for gram g and the two bits
// of it that g sets.
func (ix *index) bloomAt(g uint64) (word uint64, bits uint64) {
	h := g * 0x9E3779B97F4A7C15
	return h >> ix.shift, 1<<(h&63) | 1<<((h>>6)&63)
}

// mayHold reports whether b may hold a secret, in its bytes or in what they
// decode to. false is certain; true asks for spans.
func (ix *index) mayHold(b []byte) bool {
	if len(ix.forms) == 0 {
		return false
	}
	found := false
	ix.find(b, func(int, int) bool { found = true; return false })
	return found || ix.escaped(b)
}

// escaped reports whether b holds an escape that could hide a character of
// a secret, so that b must be decoded to be searched. `\"`, `\n` and the
// like, which every JSON document inside a JSON string is full of, cannot:
// they decode to characters no secret holds (unless one does: strict).
func (ix *index) escaped(b []byte) bool {
	if ix.strict {
		if bytes.IndexByte(b, '\\') >= 0 {
			return true
		}
	} else if bytes.Contains(b, []byte(`\u`)) || bytes.Contains(b, []byte(`\/`)) {
		return true
	}
	return hasEscape(b, '%') || hasEscape(b, '&')
}

// find calls emit with the start and end of each run of b that is a
// secret by the policy (see MinRun), in order, until emit returns false.
func (ix *index) find(b []byte, emit func(start, end int) bool) {
	bloom := ix.bloom
	for q := 0; q+gramLen <= len(b); q += gramStride {
		g := binary.LittleEndian.Uint64(b[q:])
		w, m := ix.bloomAt(g)
		if bloom[w&uint64(len(bloom)-1)]&m != m {
			continue
		}
		end := -1
		// A gram of digits is common in results (ids, timestamps) and in
		// tokens (an Asana token's gids). A run of digits alone is not a
		// match (see MinRun), so a match through it must take in a
		// character next to the digits as well: check those first.
		dl, dr := -1, -1
		if allDigits8(g) {
			dl, dr = q, q+gramLen
			for dl > 0 && dl > q-MinRun && isDigit(b[dl-1]) {
				dl--
			}
			for dr < len(b) && dr < q+gramLen+MinRun && isDigit(b[dr]) {
				dr++
			}
		}
		for _, r := range ix.grams[g] {
			f, off := ix.forms[r.form], int(r.off)
			if dl >= 0 && !ix.allDigitForm[r.form] {
				li, ri := off-(q-dl)-1, off+(dr-q)
				left := dl > 0 && li >= 0 && li < len(f) && f[li] == b[dl-1]
				right := dr < len(b) && ri >= 0 && ri < len(f) && f[ri] == b[dr]
				if !left && !right {
					continue
				}
			}
			l := 0
			for l < off && l < q && b[q-1-l] == f[off-1-l] {
				l++
			}
			m := gramLen
			for off+m < len(f) && q+m < len(b) && b[q+m] == f[off+m] {
				m++
			}
			start := q - l
			if q+m-start < MinRun || (q+m-start < len(f) && allDigits(b[start:q+m])) {
				continue
			}
			if !emit(start, q+m) {
				return
			}
			end = max(end, q+m)
		}
		if end > 0 {
			// What follows within the run is in it already.
			q = max(q, end-gramLen-gramStride+1)
		}
	}
	for _, f := range ix.short {
		for i := 0; i < len(b); {
			j := bytes.Index(b[i:], f)
			if j < 0 {
				break
			}
			if !emit(i+j, i+j+len(f)) {
				return
			}
			i += j + len(f)
		}
	}
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// allDigits8 reports whether the eight bytes of g are all decimal digits.
func allDigits8(g uint64) bool {
	const ones = 0x0101010101010101
	// Each byte is in '0'..'9' when it is at least 0x30 and adding 0x46
	// does not carry it past 0x7f; high bits set (non-ASCII) fail too.
	return g&(0x80*ones) == 0 && (g-0x30*ones)&(0x80*ones) == 0 && (g+0x46*ones)&(0x80*ones) == 0
}

// spans returns the parts of b to mask, sorted and disjoint: each run of b
// that holds a secret, and each run that decodes to one (after up to
// maxDecodings steps), widened so that it never cuts an escape in two.
func (ix *index) spans(b []byte) [][2]int {
	var out [][2]int
	ix.spansIn(b, nil, &out)
	if len(out) == 0 {
		return nil
	}
	slices.SortFunc(out, func(x, y [2]int) int { return x[0] - y[0] })
	merged := out[:1]
	for _, s := range out[1:] {
		last := &merged[len(merged)-1]
		if s[0] <= last[1] {
			last[1] = max(last[1], s[1])
			continue
		}
		merged = append(merged, s)
	}
	return merged
}

// spansIn adds to out the spans of view v, which chain decoded from the
// bytes (chain[k] turned view k into view k+1), and of the views below it,
// in the bytes' coordinates.
func (ix *index) spansIn(v []byte, chain []*decoding, out *[][2]int) {
	ix.find(v, func(s, e int) bool {
		s, e = widen(v, s, e)
		for k := len(chain) - 1; k >= 0; k-- {
			s, e = chain[k].toInput(s, e)
		}
		*out = append(*out, [2]int{s, e})
		return true
	})
	if len(chain) == maxDecodings || !ix.escaped(v) {
		return
	}
	chain = chain[:len(chain):len(chain)] // each branch appends its own
	if d := decodeOnce(v, true); d != nil {
		ix.spansIn(d.out, append(chain, d), out)
	}
	if hasPercentEscape(v) {
		if d := decodeOnce(v, false); d != nil {
			ix.spansIn(d.out, append(chain, d), out)
		}
	}
}

// mask returns b with each span replaced by Mask. In a JSON value
// (inJSON), a span outside any string (a number that is a secret) takes
// its whole token and becomes a quoted Mask, so the value stays valid.
func mask(b []byte, spans [][2]int, inJSON bool) []byte {
	if len(spans) == 0 {
		return b
	}
	var quoted []bool
	if inJSON {
		spans, quoted = outsideStrings(b, spans)
	}
	out := make([]byte, 0, len(b))
	last := 0
	for i, s := range spans {
		out = append(out, b[last:s[0]]...)
		if quoted != nil && quoted[i] {
			out = append(out, `"`+Mask+`"`...)
		} else {
			out = append(out, Mask...)
		}
		last = s[1]
	}
	return append(out, b[last:]...)
}

// outsideStrings finds the spans that lie outside every string of the JSON
// value b, widens each to its whole token and reports it as to be quoted.
// The spans stay sorted and disjoint.
func outsideStrings(b []byte, spans [][2]int) ([][2]int, []bool) {
	quoted := make([]bool, len(spans))
	out := spans[:0:0]
	str := [2]int{-1, -1} // the string being looked at: its quotes
	next := 0             // where to look for the next string
	for _, s := range spans {
		for str[1] <= s[0] && next < len(b) {
			j := bytes.IndexByte(b[next:], '"')
			if j < 0 {
				next = len(b)
				break
			}
			end, err := skipString(b, next+j)
			if err != nil {
				end = len(b)
			}
			str, next = [2]int{next + j, end}, end
		}
		if str[0] < s[0] && s[0] < str[1] {
			out = append(out, s)
			continue
		}
		for s[0] > 0 && !isJSONDelim(b[s[0]-1]) {
			s[0]--
		}
		for s[1] < len(b) && !isJSONDelim(b[s[1]]) {
			s[1]++
		}
		if n := len(out); n > 0 && out[n-1][1] > s[0] {
			// A string ended inside this token: keep the earlier span.
			continue
		}
		quoted[len(out)] = true
		out = append(out, s)
	}
	return out, quoted[:len(out)]
}

func isJSONDelim(c byte) bool {
	switch c {
	case ',', ':', '[', ']', '{', '}', '"', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}
