package clients

import (
	"errors"
	"strings"
	"testing"
)

func TestLineCol(t *testing.T) {
	data := []byte("{\n  \"a\": 1,\n  \"é\": x\n}")
	for _, tt := range []struct {
		pos       int
		line, col int
	}{
		{0, 1, 1},
		{strings.Index(string(data), "x"), 3, 8}, // columns count characters, not bytes
		{len(data) - 1, 4, 1},
	} {
		line, col := lineCol(data, tt.pos)
		if line != tt.line || col != tt.col {
			t.Errorf("lineCol(%d) = %d:%d, want %d:%d", tt.pos, line, col, tt.line, tt.col)
		}
	}
}

func TestDetectIndent(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "  ",
		"{}":                      "  ",
		"{\n    \"a\": 1\n}":      "    ",
		"{\n\t\"a\": 1\n}":        "\t",
		"{\n  \"a\": {\n    }\n}": "  ",
		"{\n \t\"a\": 1\n}":       "  ", // mixed: fall back
	} {
		if got := detectIndent([]byte(in)); got != want {
			t.Errorf("detectIndent(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSyntaxErrors: a file that does not parse is a *SyntaxError at the
// line and column (in characters) of the problem; one cut short points at
// its last byte.
func TestSyntaxErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"{\n  \"a\": {\"b\": 1}\n  \"c\": 2\n}", `3:3: invalid JSON: invalid character '"' after object value (expecting ',' or '}')`},
		{"{\n  \"é\": x\n}", "2:8: invalid JSON: invalid literal: x"},
		{"{\n  \"a\": {\"b\": 1}\n", "2:16: invalid JSON: unexpected end of JSON input"},
		{"{\"a\": 1} /* open", "1:10: invalid JSON: a comment is not closed"},
		{"{\"a\": 1}}", "1:9: invalid JSON: invalid character '}' after top-level value"},
	} {
		_, err := JSON.Parse([]byte(tt.in))
		var se *SyntaxError
		if !errors.As(err, &se) || err.Error() != tt.want {
			t.Errorf("Parse(%q) = %v, want the SyntaxError %s", tt.in, err, tt.want)
		}
	}
	if _, err := JSONC.Parse([]byte("{")); err == nil || !strings.Contains(err.Error(), "invalid JSONC") {
		t.Errorf("JSONC names itself: %v", err)
	}
}

// TestShapes: what parses but cannot hold servers is an error that says why,
// and reading or writing servers under a key of another type is refused.
func TestShapes(t *testing.T) {
	for in, want := range map[string]string{
		`[{"mcpServers": {}}]`: "the file holds a JSON array, not an object",
		`"x"`:                  "the file holds a JSON string, not an object",
		`null`:                 "the file holds a JSON null, not an object",
	} {
		if _, err := JSON.Parse([]byte(in)); err == nil || err.Error() != want {
			t.Errorf("Parse(%s) = %v, want %q", in, err, want)
		}
	}
	doc, err := JSON.Parse([]byte(`{"mcpServers": "none"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := doc.Server("mcpServers", "a"); err == nil || err.Error() != `"mcpServers" is not a JSON object` {
		t.Errorf("Server: %v", err)
	}
	if err := doc.PutServer("mcpServers", "a", nil); err == nil {
		t.Error("PutServer into a string: no error")
	}
}

func TestServer(t *testing.T) {
	doc, err := JSONC.Parse([]byte(`{
  "servers": {
    "a": {"command": "/bin/x", /* why */ "args": ["serve",], "n": 3,},
    "s": "not an entry",
    "\u0062": {}
  }
}`))
	if err != nil {
		t.Fatal(err)
	}
	e, found, err := doc.Server("servers", "a")
	if err != nil || !found || !e.Table || len(e.Fields) != 3 {
		t.Fatalf("a: %+v, %v, %v", e, found, err)
	}
	if args, _ := e.Get("args"); !SameValue(args, []string{"serve"}) {
		t.Errorf("args = %#v", args)
	}
	if n, _ := e.Get("n"); !SameValue(n, int64(3)) {
		t.Errorf("n = %#v", n)
	}
	if e, found, _ := doc.Server("servers", "s"); !found || e.Table {
		t.Errorf("s: %+v, %v: want found, not a table", e, found)
	}
	if _, found, _ := doc.Server("servers", "b"); !found {
		t.Error(`"\u0062" is not found as b`)
	}
	if _, found, _ := doc.Server("servers", "c"); found {
		t.Error("c found")
	}
	if _, found, err := doc.Server("other", "a"); found || err != nil {
		t.Errorf("no such servers key: %v, %v", found, err)
	}
}

var testFields = []Field{{"command", "/bin/agw-proxy"}, {"args", []string{"serve"}}, {"env", map[string]string{}}}

// TestPutServer: the entry goes in, and every byte of the file that is not
// part of it stays: comments, trailing commas, the layout of other members,
// line ends.
func TestPutServer(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"into an empty file", "", `{
  "mcpServers": {
    "agw": {
      "command": "/bin/agw-proxy",
      "args": [
        "serve"
      ],
      "env": {}
    }
  }
}
`},
		{"comments and trailing commas kept", `// my servers
{
    "theme": "dark", // the theme
    "mcpServers": {
        /* first */ "zeta": {"command": "npx", "args": ["-y",],},
        // "old": {"command": "old"},
    },
}
`, `// my servers
{
    "theme": "dark", // the theme
    "mcpServers": {
        /* first */ "zeta": {"command": "npx", "args": ["-y",],},
        // "old": {"command": "old"},
        "agw": {
            "command": "/bin/agw-proxy",
            "args": [
                "serve"
            ],
            "env": {}
        },
    },
}
`},
		{"a comment after the last member stays with it", "{\n\t\"mcpServers\": {\n\t\t\"a\": {} // keep\n\t}\n}", "{\n\t\"mcpServers\": {\n\t\t\"a\": {}, // keep\n\t\t\"agw\": {\n\t\t\t\"command\": \"/bin/agw-proxy\",\n\t\t\t\"args\": [\n\t\t\t\t\"serve\"\n\t\t\t],\n\t\t\t\"env\": {}\n\t\t}\n\t}\n}"},
		{"no servers key yet", "{\n  \"theme\": \"dark\" /* end */\n}\n", `{
  "theme": "dark", /* end */
  "mcpServers": {
    "agw": {
      "command": "/bin/agw-proxy",
      "args": [
        "serve"
      ],
      "env": {}
    }
  }
}
`},
		{"servers null", "{\"mcpServers\": null}", "{\"mcpServers\": {\n  \"agw\": {\n    \"command\": \"/bin/agw-proxy\",\n    \"args\": [\n      \"serve\"\n    ],\n    \"env\": {}\n  }\n}}"},
		{"one line stays one line", `{"mcpServers": {"a": {"command": "x"}}}`,
			`{"mcpServers": {"a": {"command": "x"}, "agw": {"command": "/bin/agw-proxy", "args": ["serve"], "env": {}}}}`},
		{"CRLF line ends", "{\r\n  \"mcpServers\": {\r\n    \"a\": {}\r\n  }\r\n}\r\n",
			"{\r\n  \"mcpServers\": {\r\n    \"a\": {},\r\n    \"agw\": {\r\n      \"command\": \"/bin/agw-proxy\",\r\n      \"args\": [\r\n        \"serve\"\r\n      ],\r\n      \"env\": {}\r\n    }\r\n  }\r\n}\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := JSONC.Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if err := doc.PutServer("mcpServers", "agw", testFields); err != nil {
				t.Fatal(err)
			}
			if got := string(doc.Bytes()); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
			if tt.in != "" && !strings.Contains(tt.in, "null") && !isSubsequence(tt.in, string(doc.Bytes())) {
				t.Errorf("a byte of the input is gone from the output")
			}
		})
	}
}

// TestPutServerReplacesFields: an entry that exists gets the fields written
// where they stand (on one line if they were), the new ones appended, its
// other fields and comments kept.
func TestPutServerReplacesFields(t *testing.T) {
	in := `{
  "mcpServers": {
    "agw": {
      // pinned by hand
      "command": "/opt/old", /* was */
      "args": ["serve", "--profile", "old"],
      "autoApprove": ["t"],
    },
  },
}`
	want := `{
  "mcpServers": {
    "agw": {
      // pinned by hand
      "command": "/bin/agw-proxy", /* was */
      "args": ["serve"],
      "autoApprove": ["t"],
      "env": {},
    },
  },
}`
	doc, err := JSONC.Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.PutServer("mcpServers", "agw", testFields); err != nil {
		t.Fatal(err)
	}
	if got := string(doc.Bytes()); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	// An entry that is not an object is replaced whole.
	doc, _ = JSON.Parse([]byte(`{"mcpServers": {"agw": "x"}}`))
	if err := doc.PutServer("mcpServers", "agw", testFields[:1]); err != nil {
		t.Fatal(err)
	}
	if got := string(doc.Bytes()); got != "{\"mcpServers\": {\"agw\": {\n  \"command\": \"/bin/agw-proxy\"\n}}}" {
		t.Errorf("got %q", got)
	}
}

// isSubsequence reports whether every byte of in appears in out, in order:
// nothing was removed or changed, only added.
func isSubsequence(in, out string) bool {
	i := 0
	for j := 0; i < len(in) && j < len(out); j++ {
		if in[i] == out[j] {
			i++
		}
	}
	return i == len(in)
}

func TestSameValue(t *testing.T) {
	for _, tt := range []struct {
		a, b any
		same bool
	}{
		{[]any{"serve", "x"}, []string{"serve", "x"}, true},
		{[]any{"serve"}, []string{"serve", "x"}, false},
		{float64(310000), int64(310000), true},
		{float64(1), int64(2), false},
		{map[string]any{}, map[string]string{}, true},
		{map[string]any{"A": "1"}, map[string]string{}, false},
		{"x", []string{"x"}, false},
		{false, false, true},
	} {
		if SameValue(tt.a, tt.b) != tt.same {
			t.Errorf("SameValue(%#v, %#v) = %v", tt.a, tt.b, !tt.same)
		}
	}
}
