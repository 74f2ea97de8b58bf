package interop

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
)

// v2Run is one run of sdk2_client.mjs.
type v2Run struct {
	bin         string   // the server the script launches
	args        []string // its arguments
	env         []string // more environment for the script and the server
	protocol    string   // AGW_PROTOCOL: 2026-07-28, 2025-11-25 or auto
	wantVersion string   // AGW_WANT_VERSION
	wantServer  string   // AGW_WANT_SERVER
}

// runV2 runs sdk2_client.mjs and returns its output and exit error.
func (s *setup) runV2(t *testing.T, r v2Run) (string, error) {
	t.Helper()
	_, dir := requireNode(t)
	argsJSON, _ := json.Marshal(r.args)
	env := append([]string{
		"AGW_BIN=" + r.bin, "AGW_ARGS=" + string(argsJSON), "AGW_TOOL=" + tool, "AGW_HIDDEN=" + hiddenArg,
		"AGW_PROTOCOL=" + r.protocol, "AGW_WANT_VERSION=" + r.wantVersion, "AGW_WANT_SERVER=" + r.wantServer,
		// What the emulator's EchoToken target shows through agw-proxy: the
		// header it received, the stored secret masked by the scrubber. The
		// model's own value would come back as "Bearer model-made-this-up".
		"AGW_WANT_ECHO=Bearer [redacted]",
	}, r.env...)
	return s.runNode(t, dir, env, "sdk2_client.mjs")
}

// leaks checks everything the script received, as the client (and the model
// behind it) would read it: each message it printed JSON-decoded, every
// line as text. The error says where, never what.
func (s *setup) leaks(out string) error {
	secrets := []string{s.secret, s.sim.ClientSecret}
	for i, line := range strings.Split(out, "\n") {
		if err := leakcheck.Text(line, secrets...); err != nil {
			return fmt.Errorf("output line %d: %w", i+1, err)
		}
		for _, prefix := range []string{"recv ", "raw ", "discover "} {
			if msg, ok := strings.CutPrefix(line, prefix); ok {
				if err := leakcheck.Message([]byte(msg), secrets...); err != nil {
					return fmt.Errorf("output line %d (%s): %w", i+1, strings.TrimSpace(prefix), err)
				}
			}
		}
	}
	return nil
}

// verdicts is the script's output without the messages it printed: safe to
// show even when leaks found a disguised secret in them.
func verdicts(out string) string {
	var b strings.Builder
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "ok: ") || strings.HasPrefix(line, "sdk: ") || strings.HasPrefix(line, "FAIL: ") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// TestTypeScriptSDKv2: the official TypeScript SDK v2 client launches
// agw-proxy in each protocol revision, lists the tools without the secret
// argument, calls the Asana tool, whose target receives the stored secret
// (and echoes it, masked on the way back), and gets resultType "complete" in
// 2026-07-28. Nothing it receives holds a secret, however encoded.
func TestTypeScriptSDKv2(t *testing.T) {
	for _, tc := range []struct {
		protocol  string
		wantCalls int // the SDK's call, and the raw pass's in 2026-07-28
	}{
		{protocol: "2026-07-28", wantCalls: 2},
		{protocol: "2025-11-25", wantCalls: 1},
	} {
		t.Run(tc.protocol, func(t *testing.T) {
			requireNode(t)
			bin := agwProxy(t)
			s := newSetupWith(t, gatewaysim.Options{EchoToken: true})
			out, err := s.runV2(t, v2Run{
				bin: bin, args: s.args, protocol: tc.protocol, wantVersion: tc.protocol, wantServer: "agw-proxy",
			})
			if lerr := s.leaks(out); lerr != nil {
				t.Fatalf("a secret reached the client: %v\n%s", lerr, verdicts(out))
			}
			if err != nil {
				t.Fatalf("sdk2_client.mjs (%s): %v\n%s", tc.protocol, err, out)
			}
			want := []string{"ok: sdk tools/list", "ok: sdk tools/call", "ok: sdk spoke " + tc.protocol}
			if tc.protocol == "2026-07-28" {
				want = append(want, `ok: sdk tools/call resultType "complete"`, "ok: raw 2026-07-28")
			}
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("sdk2_client.mjs output lacks %q:\n%s", w, out)
				}
			}
			t.Logf("sdk2_client.mjs:\n%s", out)
			s.checkInjected(t, tc.wantCalls)
		})
	}
}

// TestTypeScriptSDKv2Script proves sdk2_client.mjs and its checks against a
// go-sdk server that speaks 2026-07-28 (the test binary itself, see
// fakeserver_test.go): it passes with a good server in every revision, the
// v2 client's auto mode falls back to 2025-11-25 when the server offers only
// that while its pinned 2026-07-28 mode does not, and each check fails
// against a server that breaks it.
func TestTypeScriptSDKv2Script(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, server, protocol, wantVersion string
		pass                                string // AGW_PASS: "" for both passes
		wantFail                            string // "" for a run that passes
		wantLeak                            bool
	}{
		{name: "2026-07-28", protocol: "2026-07-28", wantVersion: "2026-07-28"},
		{name: "2025-11-25", protocol: "2025-11-25", wantVersion: "2025-11-25"},
		{name: "auto picks 2026-07-28", protocol: "auto", wantVersion: "2026-07-28"},
		{name: "auto falls back to 2025-11-25", server: "2025", protocol: "auto", wantVersion: "2025-11-25"},
		{name: "pinned 2026-07-28 does not fall back", server: "2025", protocol: "2026-07-28", wantVersion: "2026-07-28",
			wantFail: "FAIL: sdk client: unsupported protocol version"},
		{name: "secret argument in a schema", server: "schema", protocol: "2026-07-28", wantVersion: "2026-07-28",
			wantFail: "FAIL: sdk " + tool + ": inputSchema.properties still has " + hiddenArg},
		// The v2 client itself refuses a 2026-07-28 result without
		// resultType; the raw pass has its own check.
		{name: "no resultType", server: "noresult", protocol: "2026-07-28", wantVersion: "2026-07-28",
			wantFail: "FAIL: sdk client: Invalid result for tools/call: missing required resultType"},
		{name: "no resultType, raw pass", server: "noresult", protocol: "2026-07-28", wantVersion: "2026-07-28", pass: "raw",
			wantFail: `FAIL: raw tools/call ` + tool + `: resultType is undefined, want "complete"`},
		{name: "disguised secret on stdout", server: "leak", protocol: "2026-07-28", wantVersion: "2026-07-28", wantLeak: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireNode(t)
			s := newSetup(t)
			out, err := s.runV2(t, v2Run{
				bin: self, env: []string{fakeServerEnv + "=" + tc.server, "AGW_PASS=" + tc.pass},
				protocol: tc.protocol, wantVersion: tc.wantVersion, wantServer: "interop-fake-server",
			})
			lerr := s.leaks(out)
			switch {
			case tc.wantLeak:
				if lerr == nil {
					t.Fatalf("leaks found nothing in the output of a server that leaked:\n%s", verdicts(out))
				}
				t.Logf("found: %v", lerr)
				return
			case lerr != nil:
				t.Fatalf("leak: %v\n%s", lerr, verdicts(out))
			case tc.wantFail != "":
				if err == nil || !strings.Contains(out, tc.wantFail) {
					t.Fatalf("want a failure %q, got (err %v):\n%s", tc.wantFail, err, out)
				}
			case err != nil:
				t.Fatalf("sdk2_client.mjs: %v\n%s", err, out)
			}
			if tc.wantFail != "" {
				return
			}
			want := []string{"ok: sdk tools/list", "ok: sdk tools/call", "ok: sdk spoke " + tc.wantVersion}
			if tc.wantVersion == "2026-07-28" {
				want = append(want, `ok: sdk tools/call resultType "complete"`, "ok: raw 2026-07-28")
			}
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
