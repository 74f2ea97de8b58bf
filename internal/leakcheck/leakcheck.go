// Package leakcheck is the tests' oracle for secret hygiene. It reads output
// the way an MCP client, and the model behind it, can read it: every JSON
// string decoded, JSON documents inside strings decoded again (whole, or
// after leading prose), JSON string escapes and percent-encoding found in
// free text decoded, HTML character references resolved, recursively. It
// reports where a secret turned up, never the secret.
//
// It is written independently of the proxy's scrubber (regular expressions
// and the standard library's decoders, no shared code), so that a test which
// uses it checks the scrubber instead of repeating it.
//
//	if err := leakcheck.Message(line, secret, accessToken); err != nil {
//		t.Error(err) // e.g. "secret 1 (40 bytes) at $.result.content[0].text | json $.t | unescape"
//	}
package leakcheck

import (
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The partial-leak policy the proxy promises: a run of MinRun or more
// characters of a secret of at least MinSecretLen characters is a leak, as
// is a whole secret of any length, unless the run is made of decimal digits
// only (an Asana personal access token carries the user's and the token's
// numeric gids, which the API itself returns in its answers).
const (
	MinRun       = 16
	MinSecretLen = 24
)

// maxDepth bounds how many decodings are applied one after another.
const maxDepth = 6

// Message checks one JSON message as a client receives it. It returns an
// error naming where a secret was found, or saying that msg is not JSON.
func Message(msg []byte, secrets ...string) error {
	d := json.NewDecoder(strings.NewReader(string(msg)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return fmt.Errorf("leakcheck: not a JSON message: %v", err)
	}
	if d.More() {
		return fmt.Errorf("leakcheck: more than one JSON value in a message")
	}
	c := newChecker(secrets)
	c.value(v, "$", "", 0)
	return c.err
}

// Text checks free text, such as a log line.
func Text(text string, secrets ...string) error {
	c := newChecker(secrets)
	c.str(text, "text", 0)
	return c.err
}

// Lines checks each line of out (such as a log) with Text, and also as a
// JSON message when it is one.
func Lines(out string, secrets ...string) error {
	for i, line := range strings.Split(out, "\n") {
		if err := Text(line, secrets...); err != nil {
			return fmt.Errorf("line %d: %w", i+1, err)
		}
		if json.Valid([]byte(line)) {
			if err := Message([]byte(line), secrets...); err != nil {
				return fmt.Errorf("line %d: %w", i+1, err)
			}
		}
	}
	return nil
}

type checker struct {
	secrets []string
	err     error
	seen    map[string]bool
}

func newChecker(secrets []string) *checker {
	c := &checker{seen: map[string]bool{}}
	for _, s := range secrets {
		if s != "" {
			c.secrets = append(c.secrets, s)
		}
	}
	return c
}

func (c *checker) value(v any, path, via string, depth int) {
	if c.err != nil {
		return
	}
	switch v := v.(type) {
	case string:
		c.str(v, path+via, depth)
	case json.Number:
		c.str(v.String(), path+via, depth)
	case []any:
		for i, e := range v {
			c.value(e, fmt.Sprintf("%s[%d]", path, i), via, depth)
		}
	case map[string]any:
		for k, e := range v {
			c.str(k, fmt.Sprintf("%s{key}%s", path, via), depth)
			c.value(e, path+"."+k, via, depth)
		}
	}
}

var (
	jsonEscape   = regexp.MustCompile(`\\(u[0-9a-fA-F]{4}|["\\/bfnrt])`)
	percentCode  = regexp.MustCompile(`%[0-9a-fA-F]{2}`)
	jsonDocStart = regexp.MustCompile(`[\[{]`)
)

// str checks s and everything it decodes to.
func (c *checker) str(s, where string, depth int) {
	if c.err != nil {
		return
	}
	if i, what := c.find(s); i >= 0 {
		c.err = fmt.Errorf("leakcheck: secret %d (%d bytes) found at %s (%s)", i+1, len(c.secrets[i]), where, what)
		return
	}
	if depth >= maxDepth || c.seen[s] {
		return
	}
	c.seen[s] = true
	// A JSON document, whole or after some prose.
	if t := strings.TrimSpace(s); t != "" && json.Valid([]byte(t)) {
		c.doc(t, where+" | json ", depth+1)
	} else {
		for _, loc := range jsonDocStart.FindAllStringIndex(s, 64) {
			d := json.NewDecoder(strings.NewReader(s[loc[0]:]))
			d.UseNumber()
			var v any
			if d.Decode(&v) == nil {
				c.value(v, where+" | embedded json $", "", depth+1)
			}
		}
	}
	try := func(decoded, how string) {
		if decoded != s {
			c.str(decoded, where+" | "+how, depth+1)
		}
	}
	try(jsonEscape.ReplaceAllStringFunc(s, func(m string) string {
		var out string
		if json.Unmarshal([]byte(`"`+m+`"`), &out) != nil {
			return m
		}
		return out
	}), "unescape")
	pct := percentCode.ReplaceAllStringFunc(s, func(m string) string {
		b, _ := strconv.ParseUint(m[1:], 16, 8)
		return string([]byte{byte(b)})
	})
	try(pct, "percent-decode")
	if strings.Contains(s, "+") {
		try(strings.ReplaceAll(pct, "+", " "), "form-decode")
	}
	try(html.UnescapeString(s), "html-unescape")
}

func (c *checker) doc(t, where string, depth int) {
	d := json.NewDecoder(strings.NewReader(t))
	d.UseNumber()
	var v any
	if d.Decode(&v) == nil {
		c.value(v, where+"$", "", depth)
	}
}

// find returns the index of a secret s holds (whole, or a run the policy
// counts), and how it was found; -1 if none.
func (c *checker) find(s string) (int, string) {
	for i, sec := range c.secrets {
		if strings.Contains(s, sec) {
			return i, "whole"
		}
		if utf8.RuneCountInString(sec) < MinSecretLen {
			continue
		}
		for j := 0; j+MinRun <= len(sec); j++ {
			run := sec[j : j+MinRun]
			if allDigits(run) {
				continue
			}
			if strings.Contains(s, run) {
				return i, fmt.Sprintf("a %d-byte run from offset %d", MinRun, j)
			}
		}
	}
	return -1, ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
