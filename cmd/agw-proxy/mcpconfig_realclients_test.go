package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// The real-client tests: the official CLI of each client, from npm (pinned
// in .ci/clients/package.json), reads the entry "mcp-config --client NAME
// --write" made in a scratch home, and checks it with its own "mcp list".
// Claude Code and Gemini CLI start the server and report it Connected; no
// model account or login is needed for that. Codex and Copilot CLI only
// list what they read (neither connects without a model session), so for
// them the test checks that they parsed our entry: its command, args and,
// for Codex, the timeouts.
//
// The entry runs "agw-proxy serve" against a go-sdk server on loopback (the
// Gateway's stand-in, auth none). Without the CLIs the tests skip, except
// when $CI is set: .ci/run installs them (npm ci --prefix .ci/clients), so
// there a missing CLI fails.

// clientCLI returns the path of the npm-installed program name, or skips
// (fails under CI) when it is missing.
func clientCLI(t *testing.T, name string) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", ".ci", "clients", "node_modules", ".bin"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err != nil {
		msg := name + ` is not installed: run "npm ci --prefix .ci/clients" (node 20 or later) to run the real-client tests`
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " ($CI is set: the real-client tests are required)")
		}
		t.Skip(msg)
	}
	if _, err := exec.LookPath("node"); err != nil && name == "gemini" {
		t.Fatalf("%s needs node on PATH: %v", name, err)
	}
	return path
}

// realClient is a scratch home and project folder for one client CLI.
type realClient struct {
	t          *testing.T
	home, proj string
	gateway    string
	env        []string
}

func newRealClient(t *testing.T) *realClient {
	root := t.TempDir()
	rc := &realClient{t: t, home: filepath.Join(root, "home"), proj: filepath.Join(root, "proj"),
		gateway: sdkGatewayURL(t, []string{"2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"}, false)}
	for _, d := range []string{rc.home, rc.proj} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	rc.env = []string{
		"HOME=" + rc.home, "USERPROFILE=" + rc.home, "XDG_CONFIG_HOME=" + filepath.Join(rc.home, ".config"),
		"PATH=" + os.Getenv("PATH"), "CI=true", "TERM=dumb", "NO_COLOR=1",
		"AGW_PROXY_CONFIG=", "AGW_PROXY_PROFILE=",
		// Nothing beyond what the test needs: no updates, telemetry or
		// error reports (Claude Code).
		"DISABLE_AUTOUPDATER=1", "DISABLE_TELEMETRY=1", "DISABLE_ERROR_REPORTING=1",
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
	}
	return rc
}

// run runs program in the project folder with the scratch environment, no
// stdin, bounded; it returns stdout and stderr together.
func (rc *realClient) run(program string, args ...string) string {
	rc.t.Helper()
	ctx, cancel := context.WithTimeout(testwait.Context(rc.t), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, program, args...)
	cmd.Dir, cmd.Env = rc.proj, rc.env
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		rc.t.Fatalf("%s %s: %v\n%s", filepath.Base(program), strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// mcpConfig runs "agw-proxy mcp-config --client CLIENT --write" with the
// stand-in Gateway's profile and returns the command the entry runs.
func (rc *realClient) mcpConfig(client string, extra ...string) string {
	rc.t.Helper()
	exe, err := exec.LookPath("agw-proxy") // the test binary, as testscript.Main links it
	if err != nil {
		rc.t.Fatal(err)
	}
	args := append([]string{"mcp-config", "--client", client, "--write",
		"--gateway-url", rc.gateway, "--auth-type", "none"}, extra...)
	out := rc.run(exe, args...)
	if !strings.Contains(out, "MCP server \"agw-proxy") {
		rc.t.Fatalf("mcp-config: %s", out)
	}
	return exe
}

func writeJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	if err == nil {
		err = os.MkdirAll(filepath.Dir(path), 0o755)
	}
	if err == nil {
		err = os.WriteFile(path, data, 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// requireLine fails unless out has a line matching re.
func requireLine(t *testing.T, out, re string) {
	t.Helper()
	if !regexp.MustCompile(`(?m)` + re).MatchString(out) {
		t.Fatalf("no line matching %s in:\n%s", re, out)
	}
}

// TestClaudeCodeConnects: Claude Code's "claude mcp list" starts the
// entries mcp-config wrote, user scope (~/.claude.json) and project scope
// (.mcp.json), and reports both Connected.
func TestClaudeCodeConnects(t *testing.T) {
	claude := clientCLI(t, "claude")
	rc := newRealClient(t)
	t.Logf("%s", strings.TrimSpace(rc.run(claude, "--version")))
	// A state file as Claude Code leaves it, which mcp-config edits member
	// by member.
	writeJSONFile(t, filepath.Join(rc.home, ".claude.json"), map[string]any{
		"numStartups": 3, "hasCompletedOnboarding": true,
		"projects": map[string]any{rc.proj: map[string]any{"allowedTools": []string{}, "hasTrustDialogAccepted": true,
			"enabledMcpjsonServers": []string{"agw-proxy-project"}}},
	})
	exe := rc.mcpConfig("claude-code")
	rc.mcpConfig("claude-code-project", "--name", "agw-proxy-project")
	out := rc.run(claude, "mcp", "list")
	t.Logf("claude mcp list:\n%s", out)
	cmd := regexp.QuoteMeta(exe + " serve --gateway-url " + rc.gateway + " --auth-type none")
	requireLine(t, out, `^agw-proxy: `+cmd+` - ✔ Connected$`)
	requireLine(t, out, `^agw-proxy-project: `+cmd+` - ✔ Connected$`)
}

// TestGeminiCLIConnects: Gemini CLI's "gemini mcp list", in a folder
// marked trusted (~/.gemini/trustedFolders.json, as its docs say: in an
// untrusted folder it lists every server Disabled), starts the entry and
// reports it Connected.
func TestGeminiCLIConnects(t *testing.T) {
	gemini := clientCLI(t, "gemini")
	rc := newRealClient(t)
	t.Logf("gemini %s", strings.TrimSpace(rc.run(gemini, "--version")))
	// A settings file of the user's own, which the entry joins.
	writeJSONFile(t, filepath.Join(rc.home, ".gemini", "settings.json"), map[string]any{
		"privacy":  map[string]any{"usageStatisticsEnabled": false},
		"security": map[string]any{"folderTrust": map[string]any{"enabled": true}},
	})
	writeJSONFile(t, filepath.Join(rc.home, ".gemini", "trustedFolders.json"), map[string]string{rc.proj: "TRUST_FOLDER"})
	exe := rc.mcpConfig("gemini")
	out := rc.run(gemini, "mcp", "list")
	t.Logf("gemini mcp list:\n%s", out)
	cmd := regexp.QuoteMeta(exe + " serve --gateway-url " + rc.gateway + " --auth-type none")
	requireLine(t, out, `^✓ agw-proxy: `+cmd+` \(stdio\) - Connected$`)
}

// TestCodexReadsTheEntry: Codex's "codex mcp list --json" reads the table
// mcp-config appended to config.toml (among the user's own) as a stdio
// server with our command, args and timeouts. Codex does not start servers
// outside a session, which needs a model account.
func TestCodexReadsTheEntry(t *testing.T) {
	codex := clientCLI(t, "codex")
	rc := newRealClient(t)
	rc.env = append(rc.env, "CODEX_HOME="+filepath.Join(rc.home, ".codex"))
	if err := os.MkdirAll(filepath.Join(rc.home, ".codex"), 0o755); err != nil {
		t.Fatal(err)
	}
	mine := "# mine\nmodel = \"gpt-5-codex\"\n\n[mcp_servers.other]\ncommand = \"npx\"\nargs = [\"-y\", \"other-mcp\"]\n"
	if err := os.WriteFile(filepath.Join(rc.home, ".codex", "config.toml"), []byte(mine), 0o600); err != nil {
		t.Fatal(err)
	}
	exe := rc.mcpConfig("codex", "--call-timeout", "50s")
	out := rc.run(codex, "mcp", "list", "--json")
	start := strings.Index(out, "[") // after any warning lines
	if start < 0 {
		t.Fatalf("codex mcp list --json:\n%s", out)
	}
	var servers []struct {
		Name      string
		Enabled   bool
		Transport struct {
			Type, Command string
			Args          []string
		}
		StartupTimeoutSec float64 `json:"startup_timeout_sec"`
		ToolTimeoutSec    float64 `json:"tool_timeout_sec"`
	}
	if err := json.Unmarshal([]byte(out[start:]), &servers); err != nil {
		t.Fatalf("codex mcp list --json: %v\n%s", err, out)
	}
	t.Logf("codex mcp list --json: %+v", servers)
	want := []string{"serve", "--gateway-url", rc.gateway, "--auth-type", "none", "--call-timeout", "50s"}
	var names []string
	for _, s := range servers {
		names = append(names, s.Name)
		if s.Name != "agw-proxy" {
			continue
		}
		if !s.Enabled || s.Transport.Type != "stdio" || s.Transport.Command != exe || strings.Join(s.Transport.Args, " ") != strings.Join(want, " ") ||
			s.StartupTimeoutSec != 60 || s.ToolTimeoutSec != 60 {
			t.Errorf("Codex read our entry as %+v", s)
		}
	}
	if strings.Join(names, " ") != "agw-proxy other" {
		t.Errorf("Codex lists %q, want agw-proxy and other", names)
	}
}

// TestCopilotCLIReadsTheEntry: Copilot CLI's "copilot mcp get agw-proxy"
// reads the entry in ~/.copilot/mcp-config.json as a local server with our
// command and all tools. It does not start servers outside a session.
func TestCopilotCLIReadsTheEntry(t *testing.T) {
	copilot := clientCLI(t, "copilot")
	rc := newRealClient(t)
	exe := rc.mcpConfig("copilot")
	out := rc.run(copilot, "mcp", "get", "agw-proxy")
	t.Logf("copilot mcp get agw-proxy:\n%s", out)
	requireLine(t, out, `^\s*Status: Enabled$`)
	requireLine(t, out, `^\s*Type: local$`)
	requireLine(t, out, `^\s*Command: `+regexp.QuoteMeta(exe+" serve --gateway-url "+rc.gateway+" --auth-type none")+`$`)
	requireLine(t, out, `^\s*Tools: \* \(all\)$`)
}
