package proxy

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

func TestScrub(t *testing.T) {
	const plain = "1/1209876543:abcdef0123456789"
	const special = `tok<en>&"q\uote'/+=`
	sc := NewScrubber()
	sc.Add(plain)
	sc.Add(special)

	jsonOnce := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	tests := []struct{ name, in string }{
		{"raw", "token is " + plain},
		{"bearer", "Authorization: Bearer " + plain},
		{"json string", `{"token":` + jsonOnce(special) + `}`},
		{"json in json", jsonOnce(`{"token":` + jsonOnce(special) + `}`)},
		{"json in json in json", jsonOnce(jsonOnce(`{"t":` + jsonOnce(special) + `}`))},
		{"query escaped", "https://x/?t=" + url.QueryEscape(special)},
		{"path escaped", "https://x/" + url.PathEscape(special)},
		{"twice", plain + " and " + plain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := sc.Scrub([]byte(tt.in))
			if leaks(out, plain, special) {
				t.Errorf("secret survived scrubbing")
			}
			if !bytes.Contains(out, []byte(Mask)) {
				t.Errorf("no mask in output")
			}
			if got := sc.String(tt.in); leaks([]byte(got), plain, special) {
				t.Errorf("String: secret survived scrubbing")
			}
		})
	}

	clean := []byte(`{"result":"nothing to see"}`)
	if out := sc.Scrub(clean); &out[0] != &clean[0] {
		t.Error("Scrub copied a clean input")
	}
}

// leaks reports whether b holds any secret, raw or in a JSON or URL form
// that a reader would decode back to it.
func leaks(b []byte, secrets ...string) bool {
	for _, s := range secrets {
		for _, f := range encodings(s) {
			if bytes.Contains(b, f) {
				return true
			}
		}
	}
	return false
}

func TestScrubberWriter(t *testing.T) {
	sc := NewScrubber()
	sc.Add("hunter2hunter2")
	var buf bytes.Buffer
	w := sc.Writer(&buf)
	n, err := w.Write([]byte("level=DEBUG msg=token value=hunter2hunter2\n"))
	if err != nil || n != len("level=DEBUG msg=token value=hunter2hunter2\n") {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if strings.Contains(buf.String(), "hunter2hunter2") {
		t.Error("secret reached the log")
	}
}

func TestScrubIgnoresEmptyAndRepeats(t *testing.T) {
	sc := NewScrubber()
	sc.Add("")
	sc.Add(tokenstore.Secret("abcdefgh"))
	sc.Add(tokenstore.Secret("abcdefgh"))
	if got := string(sc.Scrub([]byte("x abcdefgh y"))); got != "x "+Mask+" y" {
		t.Errorf("Scrub = %q", got)
	}
}

func FuzzScrub(f *testing.F) {
	f.Add("secret-token-123", "prefix secret-token-123 suffix")
	f.Add(`a"b\c<d>`, `{"x":"a\"b\\c\u003cd\u003e"}`)
	f.Add("tok", "tototok")
	f.Fuzz(func(t *testing.T, secret, text string) {
		if len(secret) < 3 {
			return
		}
		sc := NewScrubber()
		sc.Add(tokenstore.Secret(secret))
		// The secret inside the text in every encoding must not survive.
		for _, f := range encodings(secret) {
			in := text + string(f) + text
			out := sc.Scrub([]byte(in))
			for _, part := range bytes.Split(out, []byte(Mask)) {
				if bytes.Contains(part, []byte(secret)) {
					t.Fatalf("raw secret survived")
				}
			}
		}
	})
}

func TestAnchorIsInEveryEncoding(t *testing.T) {
	for _, s := range []string{"plain-token_1.2~x", `a<b>&c"d\e/f`, "1/1209876543:abc", "\u2028x\u00e9y", "!!!"} {
		a := anchor(s)
		for _, f := range encodings(s) {
			if !bytes.Contains(f, a) {
				t.Errorf("an encoding of %q lacks its anchor %q", s, a)
			}
		}
	}
	if got := string(anchor("ab!cdef?g")); got != "cdef" {
		t.Errorf("anchor = %q, want the longest safe run", got)
	}
}
