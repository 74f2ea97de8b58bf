package leakcheck

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
)

// Disguise writes secret the way a careless or hostile peer might, with
// choices taken from r, as the body of a JSON string (what goes between its
// quotes): each character raw, as a \u escape with lower- or upper-case hex,
// `\/` for a slash, percent-encoded, or as an HTML character reference;
// then, zero to two times, inside a JSON document (after some prose or not)
// that is itself carried as a JSON string. Every form decodes back to the
// secret for a reader that decodes as Message does.
func Disguise(r *rand.Rand, secret string) string {
	var b strings.Builder
	for _, c := range secret {
		switch r.IntN(6) {
		case 0:
			fmt.Fprintf(&b, `\u%04x`, c)
		case 1:
			fmt.Fprintf(&b, `\u%04X`, c)
		case 2:
			if c == '/' {
				b.WriteString(`\/`)
			} else {
				b.WriteString(body(string(c), true))
			}
		case 3:
			b.WriteString(body(url.QueryEscape(string(c)), false))
		case 4:
			fmt.Fprintf(&b, "&#%d;", c)
		default:
			b.WriteString(body(string(c), false))
		}
	}
	s := b.String()
	for range r.IntN(3) {
		doc := `{"echo":"` + s + `"}`
		if r.IntN(2) == 0 {
			doc = "the target said " + doc
		}
		s = body(doc, r.IntN(2) == 0)
	}
	return s
}

// DisguiseValue is Disguise for a peer that writes its strings with a JSON
// encoder (as an MCP SDK does): the string value to send, which the encoder
// then escapes once more.
func DisguiseValue(r *rand.Rand, secret string) string {
	var v string
	if err := json.Unmarshal([]byte(`"`+Disguise(r, secret)+`"`), &v); err != nil {
		panic(err) // Disguise writes valid string bodies
	}
	return v
}

// body is s as the body of a JSON string, as encoding/json writes it.
func body(s string, escapeHTML bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	_ = enc.Encode(s) // a string always encodes
	out := strings.TrimSuffix(b.String(), "\n")
	return out[1 : len(out)-1]
}
