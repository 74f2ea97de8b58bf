package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/agw-proxy/agw-proxy/proxy"
	"github.com/agw-proxy/agw-proxy/tokenstore/tokenstoretest"
)

// Terminal control sequences a hostile Gateway, target or config file may
// send: clear the screen, write the clipboard (OSC 52), hide a link behind
// text (OSC 8), and the same through a one-character C1 CSI (U+009B).
const (
	seqClear     = "\x1b[2J\x1b[H"
	seqClipboard = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07"
	seqLink      = "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"
	seqC1        = "\u009b2J"
)

// rawTerminalBytes returns a description of the first byte or character in
// out that a terminal acts on, or "" when there is none. Newlines (and the
// tabs tabwriter uses) are the output's own and allowed.
func rawTerminalBytes(out string) string {
	for i := 0; i < len(out); {
		r, size := utf8.DecodeRuneInString(out[i:])
		switch {
		case r == '\n' || r == '\t':
		case r == utf8.RuneError && size == 1:
			return fmt.Sprintf("invalid UTF-8 byte %#x at %d", out[i], i)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			return fmt.Sprintf("control %U at %d in %q", r, i, out[max(0, i-20):min(len(out), i+20)])
		}
		i += size
	}
	return ""
}

func TestPrintable(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text, C:\\Users\\me é ✓", "plain text, C:\\Users\\me é ✓"},
		{"a\nagw-proxy: hint: run this", `a\nagw-proxy: hint: run this`},
		{"tab\tcr\r", `tab\tcr\r`},
		{seqClear, `\x1b[2J\x1b[H`},
		{seqClipboard, `\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07`},
		{seqLink, `\x1b]8;;https://evil.example/\x1b\click\x1b]8;;\x1b\`},
		{seqC1, `\u009b2J`},
		{"del\x7f nul\x00", `del\x7f nul\x00`},
		{"bidi \u202eevil\u202c zero\u200bwidth", `bidi \u202eevil\u202c zero\u200bwidth`},
		{"line\u2028sep", `line\u2028sep`},
		{"bad \xff\xc2 utf8", `bad \xff\xc2 utf8`},
		{"", ""},
	} {
		if got := printable(tc.in); got != tc.want {
			t.Errorf("printable(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := printable(tc.in); rawTerminalBytes(got) != "" {
			t.Errorf("printable(%q) left %s", tc.in, rawTerminalBytes(got))
		}
	}
}

func TestWritefEscapesArgumentsNotTheFormat(t *testing.T) {
	var b bytes.Buffer
	writef(&b, "tool %s, name %q, err %v, n %d, padded [%-6s]\n", "a"+seqClear, "b\x1b", fmt.Errorf("c\nd"), 3, "e\x07")
	want := `tool a\x1b[2J\x1b[H, name "b\x1b", err c\nd, n 3, padded [e\x07 ]` + "\n"
	if b.String() != want {
		t.Errorf("writef = %q\nwant     %q", b.String(), want)
	}
}

func TestErrorAndHintLinesEscapeTheirArguments(t *testing.T) {
	var stderr bytes.Buffer
	e := &env{testKeychain: testStore, stderr: &stderr}
	errorf(e, "the Gateway said: %v", errors.New("nope"+seqClear+"\nagw-proxy: hint: forged"))
	hintf(e, "check %s", "client"+seqC1)
	want := `agw-proxy: error: the Gateway said: nope\x1b[2J\x1b[H\nagw-proxy: hint: forged` + "\n" +
		`agw-proxy: hint: check client\u009b2J` + "\n"
	if stderr.String() != want {
		t.Errorf("stderr = %q\nwant     %q", stderr.String(), want)
	}
}

func TestPrintableJSONIsTheSameValue(t *testing.T) {
	in := map[string]any{"command": "/opt/agw" + seqC1 + "\x7f\u202e\U000e0041", "args": []string{"serve", seqClear}}
	compact, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out := printableJSON(compact)
	if raw := rawTerminalBytes(string(out)); raw != "" {
		t.Errorf("printableJSON left %s", raw)
	}
	if bytes.ContainsRune(out, '\u202e') || bytes.ContainsRune(out, '\U000e0041') {
		t.Errorf("format characters left raw: %s", out)
	}
	var back map[string]any
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("not JSON any more: %v\n%s", err, out)
	}
	if fmt.Sprint(back) != fmt.Sprint(in) {
		t.Errorf("value changed:\n%v\n%v", back, in)
	}
}

// hostileGateway is a raw HTTP MCP endpoint (no SDK, auth none) whose
// serverInfo and tool names carry terminal control sequences.
func hostileGateway(t *testing.T, serverName, serverVersion string, tools []string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad JSON", http.StatusBadRequest)
			return
		}
		if len(req.ID) == 0 { // a notification
			w.WriteHeader(http.StatusAccepted)
			return
		}
		var result any
		switch req.Method {
		case "initialize":
			result = map[string]any{"protocolVersion": proxy.UpstreamProtocolVersion,
				"capabilities": map[string]any{"tools": map[string]any{}},
				"serverInfo":   map[string]any{"name": serverName, "version": serverVersion}}
		case "tools/list":
			var list []any
			for _, name := range tools {
				list = append(list, map[string]any{"name": name, "description": "d" + seqClear,
					"inputSchema": map[string]any{"type": "object", "properties": map[string]any{"X-Asana-Token" + seqC1: map[string]any{"type": "string"}}}})
			}
			result = map[string]any{"tools": list}
		case "tools/call":
			result = map[string]any{"content": []any{map[string]any{"type": "text", "text": "done" + seqClear}}}
		default:
			result = map[string]any{}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": result})
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/mcp"
}

// TestDoctorEscapesGatewayText: what a Gateway says about itself and its
// tools reaches the terminal escaped, still recognisable.
func TestDoctorEscapesGatewayText(t *testing.T) {
	gw := hostileGateway(t, "Evil"+seqC1+"Gateway", "1.0"+seqLink+seqClipboard,
		[]string{"Tar" + seqClear + "get___list_projects", "Tar" + seqClear + "get___get_task", "loose" + seqClipboard + "tool\nagw-proxy: hint: run rm"})
	vars := map[string]string{envTestFake: registerFake(t, tokenstoretest.NewFake()), "AGW_PROXY_SECRET_ASANA": "1/doctor-escape-token-3391"}
	out, errOut, code := runInProcess(t, vars, "", "doctor", "--connect-timeout", "5s", "--gateway-url", gw, "--auth-type", "none",
		"--inject", "X-Asana-Token=asana", "--inject-tools", "Tar*get___*")
	if code != exitError {
		t.Errorf("exit %d, want 1 (the rule's argument is misspelled)", code)
	}
	for name, text := range map[string]string{"stdout": out, "stderr": errOut} {
		if raw := rawTerminalBytes(text); raw != "" {
			t.Errorf("%s holds a raw %s\n%s", name, raw, text)
		}
	}
	for _, want := range []string{
		`✓ mcp: protocol ` + proxy.UpstreamProtocolVersion + ` (a session: initialize), server "Evil\u009b2JGateway" version 1.0\x1b]8;;https://evil.example/\x1b\click\x1b]8;;\x1b\\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07`,
		`✓ tools/list: 3 tools: Tar\x1b[2J\x1b[Hget___* (2), loose\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07tool\nagw-proxy: hint: run rm`,
		`    hint: those tools declare: X-Asana-Token\u009b2J`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("stdout lacks the line\n\t%s\nstdout:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\nagw-proxy: hint: run rm") {
		t.Error("a tool name forged a line of its own")
	}
}

// TestStatusEscapesConfigText: values from a config file reach status's
// report and errors escaped.
func TestStatusEscapesConfigText(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	err := os.WriteFile(cfg, []byte(`profiles:
  default:
    gateway_url: "http://127.0.0.1:9/mcp\u009b2J"
    auth:
      type: client_credentials
      token_url: http://127.0.0.1:9/oauth2/token
      client_id: "app\e]52;c;ZXZpbA==\a\nagw-proxy: hint: forged"
      scopes: ["gw/read\e[2J"]
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{envTestFake: registerFake(t, tokenstoretest.NewFake()), "AGW_PROXY_CONFIG": cfg}
	for _, args := range [][]string{{"status"}, {"status", "--offline"}, {"login"}, {"logout"}, {"doctor", "--connect-timeout", "1s"}} {
		out, errOut, code := runInProcess(t, vars, "client-secret-for-escape-test\n", args...)
		for name, text := range map[string]string{"stdout": out, "stderr": errOut} {
			if raw := rawTerminalBytes(text); raw != "" {
				t.Errorf("%v (exit %d): %s holds a raw %s\n%s", args, code, name, raw, text)
			}
			if strings.Contains(text, "\nagw-proxy: hint: forged") {
				t.Errorf("%v: a config value forged a hint line on %s", args, name)
			}
		}
		if args[0] == "status" && !strings.Contains(out, `client ID app\x1b]52;c;ZXZpbA==\x07\nagw-proxy: hint: forged`) {
			t.Errorf("%v: the client ID is not shown escaped:\n%s", args, out)
		}
	}
}
