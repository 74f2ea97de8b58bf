package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/proxy"
)

// shellPayloads are values that run "touch NAME" (or create NAME) when a
// line holding them unescaped is read by a shell; each names its own file.
func shellPayloads() map[string]string {
	return map[string]string{
		"subst":     "x$(touch SUBST)",
		"backtick":  "`touch BACKTICK`",
		"semicolon": "x;touch SEMICOLON",
		"pipe":      "x|touch PIPE",
		"and":       "x&&touch AND",
		"redirect":  "x>REDIRECT",
		"newline":   "x\ntouch NEWLINE",
		"dquote":    "x\" ; touch DQUOTE ; : \"",
		"squote":    "x'$(touch SQUOTE)'",
		"var":       "${IFS}$(touch VAR)",
		// No space, no '$': slog writes these bare unless told otherwise.
		"semicolon2": "x;>SEMICOLON2",
		"pipe2":      "x|>PIPE2",
		"amp":        "x&>AMP",
		"redirect2":  "x>>REDIRECT2",
	}
}

// sourceInShell reads log as a shell script in dir and returns the files
// the script created there: none when the log is inert.
func sourceInShell(t *testing.T, dir, log string) []string {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to read the log with")
	}
	if err := os.WriteFile(filepath.Join(dir, "log.sh"), []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sh, "-c", ". ./log.sh")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	_ = cmd.Run() // the lines are not valid commands; only side effects matter
	entries, _ := os.ReadDir(dir)
	var created []string
	for _, e := range entries {
		if e.Name() != "log.sh" {
			created = append(created, e.Name())
		}
	}
	return created
}

// checkInertLog fails the test when log holds a raw control character, a
// '$' or a '`' anywhere.
func checkInertLog(t *testing.T, log string) {
	t.Helper()
	if raw := rawTerminalBytes(log); raw != "" {
		t.Errorf("the log holds a raw %s", raw)
	}
	if i := strings.IndexAny(log, "$`"); i >= 0 {
		t.Errorf("the log holds a raw %q: %q", log[i], log[max(0, i-30):min(len(log), i+30)])
	}
}

func TestLogValuesAndMessagesAreEscapedAndQuoted(t *testing.T) {
	const secret = "log-escape-secret-0123456789abcdef"
	scrub := proxy.NewScrubber()
	scrub.Add(secret)
	var buf bytes.Buffer
	log := newLogger(&buf, scrub, slog.LevelDebug)

	payloads := shellPayloads()
	var attrs []any
	for k, v := range payloads {
		attrs = append(attrs, k, v)
	}
	log.Warn("tool call failed"+payloads["subst"]+"\n"+seqClear, attrs...)
	log.Info("errors", "err", errors.New("a\nb $(touch ERR) "+secret), "wrapped", fmt.Errorf("w: %w", errors.New("`touch WRAPPED`")))
	log.Info("terminal", "osc52", seqClipboard, "osc8", seqLink, "c1", seqC1, "del", "x\x7f", "bidi", "a\u202eb", "bad", "x\xff")
	log.With("client", "Evil$(touch WITH)").WithGroup("g").Info("grouped", "name", "x;touch GROUP", "plain", "https://gw.example/mcp")
	log.Info("plain", "tool", "Target___list_projects", "n", 3, "took", 1500*time.Millisecond, "url", "https://gw.example:443/mcp")

	out := buf.String()
	checkInertLog(t, out)
	if n := strings.Count(out, "\n"); n != 5 {
		t.Errorf("%d lines for 5 records: a value broke a line\n%s", n, out)
	}
	if err := leakcheck.Lines(out, secret); err != nil {
		t.Error(err)
	}
	if created := sourceInShell(t, t.TempDir(), out); len(created) > 0 {
		t.Errorf("read as shell, the log ran commands that created %v\n%s", created, out)
	}
	// Plain values stay bare; others are quoted, and unquote to what was logged.
	for _, want := range []string{" tool=Target___list_projects ", " n=3 ", " took=1.5s ", " url=https://gw.example:443/mcp\n", ` g.plain=https://gw.example/mcp`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for k, v := range payloads {
		m := regexp.MustCompile(` ` + k + `=("(?:[^"\\]|\\.)*")`).FindStringSubmatch(out)
		if m == nil {
			t.Errorf("%s is not quoted:\n%s", k, out)
			continue
		}
		if got, err := strconv.Unquote(m[1]); err != nil || got != v {
			t.Errorf("%s: %s unquotes to %q (%v), want %q", k, m[1], got, err, v)
		}
	}
	if !strings.Contains(out, `msg="tool call failedx\x24(touch SUBST)\n\x1b[2J\x1b[H"`) {
		t.Errorf("the message is not quoted and escaped:\n%s", out)
	}
}

// TestServeLogOfAHostileGatewayIsInert: serve with --log-file at debug
// level, against a Gateway whose tool names and results carry shell and
// terminal payloads; the file, read as shell, runs nothing.
func TestServeLogOfAHostileGatewayIsInert(t *testing.T) {
	var tools []string
	for _, v := range shellPayloads() {
		tools = append(tools, "T___"+v)
	}
	tools = append(tools, "T___"+seqClear+"x;>CLEAR")
	gw := hostileGateway(t, "Evil$(touch SERVER)", "`touch VERSION`", tools)
	logFile := filepath.Join(t.TempDir(), "agw.log")
	cs, stderr, done := serveInProcess(t, nil, "--gateway-url", gw, "--auth-type", "none", "--log-level", "debug", "--log-file", logFile)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range tools {
		if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: map[string]any{}}); err != nil {
			t.Fatalf("call %q: %v\nstderr:\n%s", name, err, stderr.String())
		}
	}
	done()
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	if n := strings.Count(out, "msg=tools/call"); n != len(tools) {
		t.Fatalf("%d tools/call lines, want %d:\n%s", n, len(tools), out)
	}
	checkInertLog(t, out)
	if created := sourceInShell(t, t.TempDir(), out); len(created) > 0 {
		t.Errorf("read as shell, the log ran commands that created %v\n%s", created, out)
	}
}
