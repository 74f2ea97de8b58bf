package proxy

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"html"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// The scrub tests build every form of a secret with encoders of their own
// (encoding/json with and without HTML escaping, net/url, html, hand-written
// \u escapes), never with the scrubber's decoder, and judge the output
// with internal/leakcheck, which decodes it as a client would.

const (
	asanaShaped  = "2/1205123456789012/1206987654321098:3f9a0c1d2e3f405162738495a6b7c8d9"
	clientSecret = "k3j4h5g6f7d8s9a0q1w2e3r4t5y6u7i8o9p0l1k2j3h4g5f6d7s"
	specialToken = `tok<en>&"q\uote'/+= with space`
	// htmlDense has <, > or & in every run of MinRun characters, which
	// encoding/json writes as \u003c, \u003e and \u0026 by default: in
	// that form only a scrubber that decodes those escapes finds any of it.
	htmlDense = "a<b>c&d<e>f&g<h>i&j<k>l&m<n>o"
)

// jsonString is s as a JSON string, quotes included, as encoding/json
// writes it (escapeHTML: <, > and & as \u003c...).
func jsonString(s string, escapeHTML bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(s); err != nil {
		panic(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// inner is a JSON string's body: jsonString without its quotes.
func inner(quoted string) string { return quoted[1 : len(quoted)-1] }

// uEscape writes the characters of s at the given indexes (all when idx is
// nil) as \u escapes, with upper- or lower-case hex, the rest as
// encoding/json would; the result is a JSON string body.
func uEscape(s string, idx []int, upper bool) string {
	var b strings.Builder
	for i, r := range []rune(s) {
		if idx == nil || containsInt(idx, i) {
			if upper {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
			continue
		}
		b.WriteString(inner(jsonString(string(r), false)))
	}
	return b.String()
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// slashEscaped is a JSON string body with every / written \/ (PHP's
// json_encode and several Java encoders do this).
func slashEscaped(s string) string {
	return strings.ReplaceAll(inner(jsonString(s, false)), "/", `\/`)
}

func TestScrubJSONFindsEveryForm(t *testing.T) {
	sc := NewScrubber()
	for _, s := range []string{asanaShaped, clientSecret, specialToken, htmlDense} {
		sc.Add(tokenstore.Secret(s))
	}
	doc := func(body string) string { return `{"t":"` + body + `"}` } // a JSON document holding a string body
	text := func(v string) string {
		return `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":` + jsonString(v, true) + `}]}}`
	}
	for _, secret := range []string{asanaShaped, specialToken, htmlDense} {
		forms := map[string]string{
			"raw":                       `{"a":` + jsonString(secret, false) + `}`,
			"html-escaped":              `{"a":` + jsonString(secret, true) + `}`,
			"bearer":                    `{"X-Asana-Token":` + jsonString("Bearer "+secret, true) + `}`,
			"escaped slashes":           doc(slashEscaped(secret)),
			"first char \\u":            doc(uEscape(secret, []int{0}, false)),
			"every char \\u":            doc(uEscape(secret, nil, false)),
			"every char \\u, upper hex": doc(uEscape(secret, nil, true)),
			"as a key":                  `{` + jsonString(secret, false) + `:1}`,
			"nested json":               text(doc(slashEscaped(secret))),
			"nested json, \\u":          text(doc(uEscape(secret, nil, true))),
			"json after prose":          text("the target said: " + doc(uEscape(secret, []int{3}, false)) + " (end)"),
			"two levels deeper":         text(jsonString(doc(uEscape(secret, nil, false)), false)),
			"escapes in free text":      text("token=" + slashEscaped(secret)),
			"query escaped":             text("https://x/?t=" + url.QueryEscape(secret)),
			"path escaped":              text("https://x/" + url.PathEscape(secret)),
			"lower-case percent hex":    text(strings.ToLower(url.QueryEscape(secret))),
			"html references":           text(strings.NewReplacer("/", "&#x2F;", ":", "&#58;", "<", "&lt;").Replace(secret)),
			"named reference":           text(strings.ReplaceAll(secret, "/", "&sol;")),
			"html.EscapeString":         text(html.EscapeString(secret)),
			"minus its first char":      `{"a":` + jsonString(secret[1:], false) + `}`,
			"minus its last char":       `{"a":` + jsonString(secret[:len(secret)-1], false) + `}`,
			"twice":                     `{"a":` + jsonString(secret+" and "+secret, false) + `}`,
			"in an error's data":        `{"jsonrpc":"2.0","id":2,"error":{"code":-32000,"message":"x","data":{"echo":"` + slashEscaped(secret) + `"}}}`,
		}
		for name, in := range forms {
			t.Run(fmt.Sprintf("%.8s/%s", secret, name), func(t *testing.T) {
				if !json.Valid([]byte(in)) {
					t.Fatalf("test input is not JSON: %s", in)
				}
				if leakcheck.Message([]byte(in), secret) == nil {
					t.Fatalf("the oracle finds nothing in the input: the case tests nothing")
				}
				out := sc.ScrubJSON([]byte(in))
				if !json.Valid(out) {
					t.Fatalf("output is not valid JSON: %s", out)
				}
				if err := leakcheck.Message(out, secret); err != nil {
					t.Errorf("%v\nout: %s", err, out)
				}
				if !bytes.Contains(out, []byte(Mask)) {
					t.Errorf("no mask in output: %s", out)
				}
				if err := leakcheck.Text(sc.String(in), secret); err != nil {
					t.Errorf("String: %v", err)
				}
			})
		}
	}
}

func TestScrubJSONKeepsEverythingElse(t *testing.T) {
	sc := NewScrubber()
	sc.Add(asanaShaped)
	// The first character escaped, as a target may send it: the mask must
	// take the whole escape, not leave `\u003` behind (invalid JSON).
	in := `{"a":"before \u0032/1205123456789012/1206987654321098:3f9a0c1d2e3f405162738495a6b7c8d9 after","n":1.5e3,"b":"\u00e9"}`
	want := `{"a":"before [redacted] after","n":1.5e3,"b":"\u00e9"}`
	if got := string(sc.ScrubJSON([]byte(in))); got != want {
		t.Errorf("ScrubJSON =\n %s\nwant\n %s", got, want)
	}
	// One level deeper, the same: the inner document stays valid JSON.
	nested := `{"text":` + jsonString(`{"t":"\u0032/1205123456789012/1206987654321098:3f9a0c1d2e3f405162738495a6b7c8d9"}`, false) + `}`
	out := sc.ScrubJSON([]byte(nested))
	var outer struct{ Text string }
	if err := json.Unmarshal(out, &outer); err != nil {
		t.Fatalf("output is not JSON: %v: %s", err, out)
	}
	if outer.Text != `{"t":"[redacted]"}` {
		t.Errorf("inner document = %s, want the whole escaped token masked", outer.Text)
	}
}

func TestScrubJSONNumberThatIsASecret(t *testing.T) {
	sc := NewScrubber()
	sc.Add("98765432109876543210")
	out := sc.ScrubJSON([]byte(`{"a":98765432109876543210,"b":[1,98765432109876543210]}`))
	if string(out) != `{"a":"[redacted]","b":[1,"[redacted]"]}` {
		t.Errorf("ScrubJSON = %s", out)
	}
}

func TestScrubPolicyForPartsOfASecret(t *testing.T) {
	sc := NewScrubber()
	sc.Add(asanaShaped)
	sc.Add("short-secret")
	tests := []struct {
		in     string
		masked bool
	}{
		{asanaShaped[5:21], true},   // any run of 16
		{asanaShaped[5:20], false},  // 15 is not
		{"1205123456789012", false}, // the user's gid: digits only
		{"/1205123456789012", true}, // with a character that is not a digit
		{"short-secret", true},      // a short secret, whole
		{"short-secre", false},      // but not a part of it
		{"x" + asanaShaped[3:40] + "y", true},
	}
	for _, tt := range tests {
		got := sc.String("<" + tt.in + ">")
		if masked := got != "<"+tt.in+">"; masked != tt.masked {
			t.Errorf("%q: masked = %v, want %v (got %q)", tt.in, masked, tt.masked, got)
		}
	}
	if got := sc.String("a " + asanaShaped[1:] + " b"); got != "a "+Mask+" b" {
		t.Errorf("a secret minus its first character: %q", got)
	}
}

func TestScrubCleanInputIsNotCopied(t *testing.T) {
	sc := NewScrubber()
	sc.Add(asanaShaped)
	for _, clean := range []string{
		`{"result":"nothing to see"}`,
		`{"text":"{\"notes\":\"line\\nline \\\"quoted\\\"\",\"path\":\"/a/b\"}"}`, // nested JSON with \n and \"
		`{"text":"caf\u00e9 \/ 50% &amp; more"}`,                                  // escapes that decode to no secret
	} {
		in := []byte(clean)
		if out := sc.ScrubJSON(in); &out[0] != &in[0] || !bytes.Equal(out, in) {
			t.Errorf("ScrubJSON changed or copied clean input %s", clean)
		}
		if out := sc.Scrub(in); &out[0] != &in[0] {
			t.Errorf("Scrub copied clean input %s", clean)
		}
	}
}

func TestScrubberWriter(t *testing.T) {
	sc := NewScrubber()
	sc.Add(asanaShaped)
	var buf bytes.Buffer
	w := sc.Writer(&buf)
	line := `level=DEBUG msg=echo body="{\"t\":\"` + slashEscaped(asanaShaped) + `\"}"` + "\n"
	n, err := w.Write([]byte(line))
	if err != nil || n != len(line) {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if err := leakcheck.Text(buf.String(), asanaShaped); err != nil {
		t.Error(err)
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
	if n := len(sc.ix.Load().forms); n != 1 {
		t.Errorf("%d forms after adding one secret twice", n)
	}
}

// FuzzScrubJSON: a leaky peer puts secrets, in random forms and split at
// random points across fields, into a message; what the scrubber lets out
// must be valid JSON in which the oracle finds no secret.
func FuzzScrubJSON(f *testing.F) {
	f.Add(uint64(1), uint64(2), "")
	f.Add(uint64(7), uint64(99), `{"x":"y"}`)
	f.Fuzz(func(t *testing.T, seed1, seed2 uint64, filler string) {
		r := rand.New(rand.NewPCG(seed1, seed2))
		secrets := []string{asanaShaped, clientSecret, "Bearer " + asanaShaped}
		sc := NewScrubber()
		sc.Add(asanaShaped)
		sc.Add(clientSecret)
		fill := inner(jsonString(filler, false))
		var fields []string
		for i := range 1 + r.IntN(4) {
			s := secrets[r.IntN(len(secrets))]
			// A split point: the secret across two fields.
			if cut := r.IntN(len(s) + 1); r.IntN(3) == 0 {
				fields = append(fields, fmt.Sprintf(`"p%d":"%s%s"`, i, fill, leakcheck.Disguise(r, s[:cut])), fmt.Sprintf(`"q%d":"%s%s"`, i, leakcheck.Disguise(r, s[cut:]), fill))
				continue
			}
			fields = append(fields, fmt.Sprintf(`"f%d":"%s%s%s"`, i, fill, leakcheck.Disguise(r, s), fill))
		}
		msg := []byte(`{"jsonrpc":"2.0","id":1,"result":{` + strings.Join(fields, ",") + `}}`)
		if !json.Valid(msg) {
			t.Fatalf("generated message is not JSON: %s", msg)
		}
		out := sc.ScrubJSON(msg)
		if !json.Valid(out) {
			t.Fatalf("output is not valid JSON:\n in: %s\nout: %s", msg, out)
		}
		if err := leakcheck.Message(out, asanaShaped, clientSecret); err != nil {
			t.Fatalf("%v\n in: %s\nout: %s", err, msg, out)
		}
	})
}

// FuzzScrub: arbitrary text around a secret in arbitrary bytes: the secret
// never survives, and text without it comes back unchanged.
func FuzzScrub(f *testing.F) {
	f.Add("secret-token-1234567890", "prefix", "suffix")
	f.Add(`a"b\c<d>efghijklmnopqr`, `{"x":"`, `"}`)
	f.Add("tok", "toto", "k")
	f.Fuzz(func(t *testing.T, secret, before, after string) {
		if len(secret) < 3 {
			return
		}
		sc := NewScrubber()
		sc.Add(tokenstore.Secret(secret))
		out := string(sc.Scrub([]byte(before + secret + after)))
		for _, part := range strings.Split(out, Mask) {
			if strings.Contains(part, secret) {
				t.Fatalf("secret survived: %q", out)
			}
		}
		clean := before + after
		if strings.Contains(clean, secret) || leakcheck.Text(clean, secret) != nil {
			return
		}
		if got := sc.String(clean); got != clean && !strings.Contains(got, Mask) {
			t.Fatalf("clean text changed without a mask: %q -> %q", clean, got)
		}
	})
}

func TestAllDigits8(t *testing.T) {
	for c := range 256 {
		for pos := range 8 {
			g := []byte("01234567")
			g[pos] = byte(c)
			want := allDigits(g)
			if got := allDigits8(binary.LittleEndian.Uint64(g)); got != want {
				t.Fatalf("allDigits8(%q) = %v", g, got)
			}
		}
	}
}

func TestScrubMaskNeverCutsAnEscapeOfANestedDocument(t *testing.T) {
	// The secret starts with 'n': in the inner document it follows a \n
	// escape, so the raw bytes "\nA1b2…" hold the secret whole, starting
	// inside the escape. The mask must take the escape too, or the inner
	// document is left with a broken `\[redacted]`.
	const secret = "nA1b2C3d4E5f6G7h8I9j0K"
	sc := NewScrubber()
	sc.Add(secret)
	innerDoc := `{"t":"\n` + secret[1:] + `"}`
	out := sc.ScrubJSON([]byte(`{"text":` + jsonString(innerDoc, false) + `}`))
	var outer struct{ Text string }
	if err := json.Unmarshal(out, &outer); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if !json.Valid([]byte(outer.Text)) {
		t.Errorf("the inner document is no longer JSON: %s", outer.Text)
	}
	if err := leakcheck.Message(out, secret); err != nil {
		t.Error(err)
	}
}

func TestScrubSecretOfDigitsOnly(t *testing.T) {
	// A secret made of digits is masked whole; a part of it is not, like
	// any run of digits (see MinRun).
	sc := NewScrubber()
	sc.Add("98765432109876543210")
	if got := sc.String("id 9876543210987654 here"); got != "id 9876543210987654 here" {
		t.Errorf("a 16-digit part was masked: %q", got)
	}
	if got := sc.String("x98765432109876543210y"); got != "x"+Mask+"y" {
		t.Errorf("the whole secret: %q", got)
	}
}

func TestScrubPassphraseInAFormEncodedQuery(t *testing.T) {
	// No run of 16 characters survives form encoding ("+" for each
	// space), so the '+' form must be known as such.
	const secret = "correct horse battery staple"
	sc := NewScrubber()
	sc.Add(secret)
	in := `{"url":"https://x/?q=` + url.QueryEscape(secret) + `"}`
	if err := leakcheck.Message(sc.ScrubJSON([]byte(in)), secret); err != nil {
		t.Error(err)
	}
}
