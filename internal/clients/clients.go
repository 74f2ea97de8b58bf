// Package clients knows the config files of the MCP clients that launch
// agw-proxy: where each client keeps its file, the key that holds its
// servers, the entry it expects for a stdio server, and the file's format.
// It installs that entry into a user's file the way a careful person would
// by hand: every other entry and setting stays, and so do the file's
// comments, trailing commas and the bytes of everything it does not touch.
//
// The table of clients is [All]; a file format is a [Format] ([JSON],
// [JSONC] and [TOML]). Adding a client is one entry in the table and an
// example in configs/clients; adding a format is one [Format].
package clients

import (
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Client describes one MCP client's config file.
type Client struct {
	Name string // the --client value
	// Aliases are other --client values for it: earlier names.
	Aliases []string
	Label   string // the product's name, for messages: "Restart Kiro"
	// Covers says which of the product's apps read the file, if it is worth
	// saying: "CLI and IDE".
	Covers string
	// Where is the default file, for the usage text; lines after the first
	// continue it.
	Where string
	// Doc is where the client documents its file.
	Doc string
	// File is the file's name inside the folder dir returns; it may hold a
	// folder of its own (".vscode/mcp.json"). configs/clients/NAME/FILE is
	// the client's example.
	File string
	dir  func(Env) (string, error)
	// Servers is the top-level key that holds the servers by name.
	Servers string
	// Format is the file's format.
	Format Format
	// NewMode is the permission of a file Install creates.
	NewMode fs.FileMode
	// Owned are the fields that say what runs: an entry whose owned fields
	// match is agw-proxy's entry for this profile, and one whose owned
	// fields differ is replaced only by force.
	Owned []string
	// Derived are the fields agw-proxy sets from the profile (the timeouts):
	// an entry whose owned fields match but whose derived fields differ is
	// stale and updated. The entry's other fields are defaults the user may
	// change.
	Derived []string
	// Binaries are the client's programs on PATH, whose presence says it
	// is installed (Detect).
	Binaries []string
	fields   func(Server) []Field
}

// Server is what an entry launches.
type Server struct {
	Command     string   // the absolute path of agw-proxy
	Args        []string // "serve" and the options that select the profile
	CallTimeout time.Duration
}

// All is every client agw-proxy can configure, in the order of its help.
// configs/clients/README.md cites where each row's path, key and shape
// come from.
var All = []*Client{
	{
		Name: "kiro", Label: "Kiro", Covers: "CLI and IDE",
		Where: "~/.kiro/settings/mcp.json\n(a workspace's: --file .kiro/settings/mcp.json)",
		// command, args, env, disabled, autoApprove, disabledTools: no
		// timeout is documented for mcp.json. Agent files in ~/.kiro/agents
		// are not written: the default agent reads mcp.json.
		Doc:  "kiro.dev/docs/mcp/configuration, kiro.dev/docs/cli/mcp/configuration",
		File: "mcp.json", dir: homeDir(".kiro", "settings"),
		Servers: "mcpServers", Format: JSON, NewMode: 0o600,
		Owned:    []string{"command", "args"},
		Binaries: []string{"kiro-cli", "kiro"},
		fields: func(s Server) []Field {
			return []Field{{"command", s.Command}, {"args", s.Args}, {"env", map[string]string{}}, {"disabled", false}}
		},
	},
	{
		Name: "amazonq-cli", Aliases: []string{"amazonq"},
		Label: "Amazon Q Developer CLI", Covers: "legacy: now Kiro CLI",
		Where: "~/.aws/amazonq/mcp.json",
		// timeout is per request, in milliseconds (default 120 s).
		Doc:  "docs.aws.amazon.com/amazonq/latest/qdeveloper-ug/command-line-mcp-configuration.html",
		File: "mcp.json", dir: homeDir(".aws", "amazonq"),
		Servers: "mcpServers", Format: JSON, NewMode: 0o600,
		Owned:   []string{"command", "args"},
		Derived: []string{"timeout"}, Binaries: []string{"q"},
		fields: amazonQFields,
	},
	{
		Name: "amazonq-ide", Label: "Amazon Q Developer IDE plugins",
		Where: "~/.aws/amazonq/agents/default.json",
		// The IDE's default agent: mcpServers entries as in mcp.json.
		Doc:  "docs.aws.amazon.com/amazonq/latest/qdeveloper-ug/mcp-ide.html",
		File: "default.json", dir: homeDir(".aws", "amazonq", "agents"),
		Servers: "mcpServers", Format: JSON, NewMode: 0o600,
		Owned:   []string{"command", "args"},
		Derived: []string{"timeout"},
		fields:  amazonQFields,
	},
	{
		Name: "claude-desktop", Aliases: []string{"claude"}, Label: "Claude Desktop",
		Where: "claude_desktop_config.json in\n~/Library/Application Support/Claude (macOS),\n" +
			`%APPDATA%\Claude (Windows), ~/.config/Claude (Linux)`,
		Doc:  "modelcontextprotocol.io quickstart (mcpServers with command, args, env)",
		File: "claude_desktop_config.json", dir: claudeDir,
		Servers: "mcpServers", Format: JSON, NewMode: 0o600,
		Owned:  []string{"command", "args"},
		fields: commandArgsEnv,
	},
	{
		Name: "claude-code", Label: "Claude Code", Covers: "user scope",
		Where: "~/.claude.json\n($CLAUDE_CONFIG_DIR/.claude.json when set)",
		// Claude Code's own state file: only our member is changed. No
		// per-server timeout for stdio (MCP_TIMEOUT is Claude Code's env).
		Doc:  "code.claude.com/docs/en/mcp (scopes)",
		File: ".claude.json", dir: claudeCodeDir,
		Servers: "mcpServers", Format: JSON, NewMode: 0o600,
		Owned:    []string{"command", "args"},
		Binaries: []string{"claude"},
		fields:   typeStdio,
	},
	{
		Name: "claude-code-project", Label: "Claude Code", Covers: "project scope",
		Where: ".mcp.json in the current directory",
		Doc:   "code.claude.com/docs/en/mcp (project scope)",
		File:  ".mcp.json", dir: workDir,
		Servers: "mcpServers", Format: JSON, NewMode: 0o644,
		Owned:  []string{"command", "args"},
		fields: typeStdio,
	},
	{
		Name: "cursor", Label: "Cursor", Where: "~/.cursor/mcp.json",
		Doc:  "cursor.com/docs (MCP): mcpServers with command, args, env",
		File: "mcp.json", dir: homeDir(".cursor"),
		Servers: "mcpServers", Format: JSON, NewMode: 0o600,
		Owned:    []string{"command", "args"},
		Binaries: []string{"cursor"},
		fields:   commandArgsEnv,
	},
	{
		Name: "vscode", Label: "VS Code", Covers: "workspace",
		Where: ".vscode/mcp.json in the current directory",
		// "servers", not mcpServers; stdio entries need type "stdio".
		Doc:  "code.visualstudio.com/docs/copilot/reference/mcp-configuration",
		File: filepath.Join(".vscode", "mcp.json"), dir: workDir,
		Servers: "servers", Format: JSONC, NewMode: 0o644,
		Owned:  []string{"type", "command", "args"},
		fields: vscodeFields,
	},
	{
		Name: "vscode-user", Label: "VS Code", Covers: "user profile",
		Where: "mcp.json in the user folder:\n~/Library/Application Support/Code/User (macOS),\n" +
			`%APPDATA%\Code\User (Windows), ~/.config/Code/User (Linux)`,
		Doc:  "code.visualstudio.com/docs/copilot/reference/mcp-configuration",
		File: "mcp.json", dir: vscodeUserDir,
		Servers: "servers", Format: JSONC, NewMode: 0o600,
		Owned:    []string{"type", "command", "args"},
		Binaries: []string{"code"},
		fields:   vscodeFields,
	},
	{
		Name: "windsurf", Label: "Windsurf", Where: "~/.codeium/windsurf/mcp_config.json",
		Doc:  "docs.windsurf.com/windsurf/cascade/mcp",
		File: "mcp_config.json", dir: homeDir(".codeium", "windsurf"),
		Servers: "mcpServers", Format: JSON, NewMode: 0o600,
		Owned:    []string{"command", "args"},
		Binaries: []string{"windsurf"},
		fields:   commandArgsEnv,
	},
	{
		Name: "zed", Label: "Zed",
		Where: "settings.json in ~/.config/zed (macOS, Linux),\n%APPDATA%\\Zed (Windows)",
		// context_servers in Zed's settings, JSON with comments.
		Doc:  "zed.dev/docs/ai/mcp, zed.dev/docs/configuring-zed",
		File: "settings.json", dir: zedDir,
		Servers: "context_servers", Format: JSONC, NewMode: 0o600,
		Owned:    []string{"command", "args"},
		Binaries: []string{"zed", "zeditor"},
		fields:   commandArgsEnv,
	},
	{
		Name: "cline", Label: "Cline",
		Where: "cline_mcp_settings.json in VS Code's user folder,\n" +
			"under globalStorage/saoudrizwan.claude-dev/settings",
		// timeout is in seconds, 30 to 3600 (default 60).
		Doc:  "docs.cline.bot/mcp/configuring-mcp-servers",
		File: "cline_mcp_settings.json", dir: clineDir,
		Servers: "mcpServers", Format: JSON, NewMode: 0o600,
		Owned:   []string{"command", "args"},
		Derived: []string{"timeout"},
		fields: func(s Server) []Field {
			return []Field{{"command", s.Command}, {"args", s.Args}, {"env", map[string]string{}},
				{"disabled", false}, {"timeout", clineTimeout(s.CallTimeout)}}
		},
	},
	{
		Name: "gemini", Label: "Gemini CLI", Where: "~/.gemini/settings.json",
		// timeout is per request, in milliseconds (default 600 s).
		Doc:  "github.com/google-gemini/gemini-cli docs/tools/mcp-server.md",
		File: "settings.json", dir: homeDir(".gemini"),
		Servers: "mcpServers", Format: JSONC, NewMode: 0o600,
		Owned:   []string{"command", "args"},
		Derived: []string{"timeout"}, Binaries: []string{"gemini"},
		fields: func(s Server) []Field {
			return []Field{{"command", s.Command}, {"args", s.Args}, {"env", map[string]string{}},
				{"timeout", clientTimeout(s.CallTimeout).Milliseconds()}}
		},
	},
	{
		Name: "codex", Label: "Codex", Where: "~/.codex/config.toml\n($CODEX_HOME/config.toml when set)",
		// [mcp_servers.NAME]: startup_timeout_sec covers initialize and the
		// first tools/list (default 10 s), tool_timeout_sec each call
		// (default 60 s).
		Doc:  "developers.openai.com/codex/mcp, github.com/openai/codex docs/config.md",
		File: "config.toml", dir: codexDir,
		Servers: "mcp_servers", Format: TOML, NewMode: 0o600,
		Owned:   []string{"command", "args"},
		Derived: []string{"startup_timeout_sec", "tool_timeout_sec"}, Binaries: []string{"codex"},
		fields: func(s Server) []Field {
			sec := int64(math.Ceil(clientTimeout(s.CallTimeout).Seconds()))
			return []Field{{"command", s.Command}, {"args", s.Args},
				{"startup_timeout_sec", sec}, {"tool_timeout_sec", sec}}
		},
	},
	{
		Name: "copilot", Label: "GitHub Copilot CLI",
		Where: "~/.copilot/mcp-config.json\n($COPILOT_HOME/mcp-config.json when set)",
		// type "local" (or "stdio"); tools is required: "*" is all of them.
		Doc:  "docs.github.com/en/copilot/how-tos/copilot-cli/customize-copilot/add-mcp-servers",
		File: "mcp-config.json", dir: copilotDir,
		Servers: "mcpServers", Format: JSON, NewMode: 0o600,
		Owned:    []string{"command", "args"},
		Binaries: []string{"copilot"},
		fields: func(s Server) []Field {
			return []Field{{"type", "local"}, {"command", s.Command}, {"args", s.Args},
				{"env", map[string]string{}}, {"tools", []string{"*"}}}
		},
	},
}

func commandArgsEnv(s Server) []Field {
	return []Field{{"command", s.Command}, {"args", s.Args}, {"env", map[string]string{}}}
}

func typeStdio(s Server) []Field {
	return []Field{{"type", "stdio"}, {"command", s.Command}, {"args", s.Args}, {"env", map[string]string{}}}
}

func vscodeFields(s Server) []Field {
	return []Field{{"type", "stdio"}, {"command", s.Command}, {"args", s.Args}}
}

func amazonQFields(s Server) []Field {
	return []Field{{"command", s.Command}, {"args", s.Args}, {"env", map[string]string{}},
		{"timeout", clientTimeout(s.CallTimeout).Milliseconds()}}
}

// clientTimeout is the client-side request timeout: a little longer than
// the proxy's own call timeout, so that a slow call ends with the proxy's
// explanation rather than the client's. It bounds start-up too (Codex): the
// first tools/list may wait on the Gateway as long as a call.
func clientTimeout(call time.Duration) time.Duration {
	return call + 10*time.Second
}

// clineTimeout is clientTimeout in seconds, within the 30 s to 1 h that
// Cline accepts.
func clineTimeout(call time.Duration) int64 {
	sec := int64(math.Ceil(clientTimeout(call).Seconds()))
	return min(max(sec, 30), 3600)
}

// Lookup returns the client named name, or nil.
func Lookup(name string) *Client {
	for _, c := range All {
		if c.Name == name || slices.Contains(c.Aliases, name) {
			return c
		}
	}
	return nil
}

// Names are the clients' names, in the table's order.
func Names() []string {
	names := make([]string, len(All))
	for i, c := range All {
		names[i] = c.Name
	}
	return names
}

// Entry returns the fields of the server entry that launches s, in the
// order the client's documentation shows them.
func (c *Client) Entry(s Server) []Field { return c.fields(s) }

// Path returns the client's default config file in the environment e.
func (c *Client) Path(e Env) (string, error) {
	dir, err := c.dir(e)
	if err != nil {
		return "", fmt.Errorf("cannot locate the %s config file: %w", c.Label, err)
	}
	return filepath.Join(dir, c.File), nil
}

// ValidServerName reports whether a client can take name as a server's
// name: clients use it as a key and in their UI, and Amazon Q allows at most
// 250 characters.
func ValidServerName(name string) bool {
	if name == "" || utf8.RuneCountInString(name) > 250 {
		return false
	}
	return !strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f })
}
