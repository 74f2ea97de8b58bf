package leakcheck

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
)

const asana = "2/1205123456789012/1206987654321098:3f9a0c1d2e3f405162738495a6b7c8d9"

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// uEscapeAll writes every character of s as an upper-case \u escape.
func uEscapeAll(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, `\u%04X`, r)
	}
	return b.String()
}

func TestMessageFindsEveryDecodableForm(t *testing.T) {
	msgs := map[string]string{
		"raw":                  `{"a":` + quote(asana) + `}`,
		"escaped slash":        `{"a":"` + strings.ReplaceAll(asana, "/", `\/`) + `"}`,
		"all u-escaped":        `{"a":"` + uEscapeAll(asana) + `"}`,
		"key":                  `{` + quote(asana) + `:1}`,
		"nested json":          `{"text":` + quote(`{"t":"`+uEscapeAll(asana)+`"}`) + `}`,
		"json after prose":     `{"text":` + quote(`echo: {"t":"`+strings.ReplaceAll(asana, "/", `\/`)+`"} done`) + `}`,
		"escapes in free text": `{"text":` + quote(`token=`+strings.ReplaceAll(asana, "/", `\/`)) + `}`,
		"percent":              `{"u":` + quote("https://x/?t="+url.QueryEscape(asana)) + `}`,
		"percent lower":        `{"u":` + quote(strings.ToLower(url.QueryEscape(asana))) + `}`,
		"html":                 `{"h":` + quote(strings.ReplaceAll(asana, "/", "&#x2F;")) + `}`,
		"long run":             `{"a":` + quote(asana[1:len(asana)-1]) + `}`,
		"deep":                 `{"a":` + quote(quote(quote(`{"t":`+quote(asana)+`}`))) + `}`,
	}
	for name, msg := range msgs {
		if !json.Valid([]byte(msg)) {
			t.Fatalf("%s: test message is not JSON: %s", name, msg)
		}
		err := Message([]byte(msg), asana)
		if err == nil {
			t.Errorf("%s: leak not found in %s", name, msg)
			continue
		}
		if strings.Contains(err.Error(), asana[20:36]) {
			t.Errorf("%s: the report carries the secret: %v", name, err)
		}
	}
}

func TestMessageAcceptsCleanOutput(t *testing.T) {
	clean := []string{
		`{"a":"[redacted]"}`,
		// The gids inside the token are public: digits alone are not a leak.
		`{"gid":"1205123456789012","other":"1206987654321098"}`,
		// A short piece is not a leak.
		`{"a":"` + asana[:15] + `"}`,
	}
	for _, msg := range clean {
		if err := Message([]byte(msg), asana); err != nil {
			t.Errorf("%s: %v", msg, err)
		}
	}
	if err := Message([]byte(`{"a":`), asana); err == nil {
		t.Error("a broken message passed")
	}
}

func TestTextAndLines(t *testing.T) {
	if Text(`level=INFO msg=x err="`+strings.ReplaceAll(asana, "/", `\/`)+`"`, asana) == nil {
		t.Error("escaped secret in a log line not found")
	}
	if Text("level=INFO msg=fine", asana) != nil {
		t.Error("clean line flagged")
	}
	if Lines("ok\n{\"a\":\""+uEscapeAll(asana)+"\"}\n", asana) == nil {
		t.Error("Lines missed a leak on its second line")
	}
	if Text("short secret abc here", "abc") == nil {
		t.Error("a short secret, whole, not found")
	}
}

func TestDisguiseIsFoundEveryTime(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		form := Disguise(r, asana)
		if !json.Valid([]byte(`"` + form + `"`)) {
			t.Fatalf("not a JSON string body: %s", form)
		}
		if Message([]byte(`{"a":"`+form+`"}`), asana) == nil {
			t.Fatalf("Message does not find the secret in %s", form)
		}
		if Message([]byte(`{"a":`+quote(DisguiseValue(r, asana))+`}`), asana) == nil {
			t.Fatal("Message does not find the secret in a DisguiseValue form")
		}
	}
}
