// Package clients knows the config files of the MCP clients that launch
// agw-proxy: where each client keeps its file, the key that holds its
// servers, the entry it expects for a stdio server, and the file's format.
// It installs that entry into a user's file the way a careful person would
// by hand: every other entry and setting stays, and so do the file's
// comments, trailing commas and the bytes of everything it does not touch.
//
// The table of clients is [All]; a file format is a [Format] ([JSON] and
// [JSONC] today). Adding a client is one entry in the table and an example
// in configs/clients; adding a format (TOML, for Codex) is one [Format].
package clients

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// Client describes one MCP client's config file.
type Client struct {
	Name  string // the --client value
	Label string // the product's name, for messages: "Restart Kiro"
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
	// match is up to date. The entry's other fields are defaults the user
	// may change.
	Owned  []string
	fields func(Server) []Field
}

// Server is what an entry launches.
type Server struct {
	Command     string   // the absolute path of agw-proxy
	Args        []string // "serve" and the options that select the profile
	CallTimeout time.Duration
}

// All is every client agw-proxy can configure, in the order of its help.
var All = []*Client{
	{
		Name: "amazonq", Label: "Amazon Q Developer", Covers: "CLI and IDE",
		Where: "~/.aws/amazonq/mcp.json",
		// timeout is per request, in milliseconds (default 120 s).
		Doc:  "docs.aws.amazon.com/amazonq/latest/qdeveloper-ug/command-line-mcp-configuration.html",
		File: "mcp.json", dir: homeDir(".aws", "amazonq"),
		Servers: "mcpServers", Format: JSON, NewMode: 0o600,
		Owned: []string{"command", "args"},
		fields: func(s Server) []Field {
			return []Field{{"command", s.Command}, {"args", s.Args}, {"env", map[string]string{}},
				{"timeout", amazonQTimeout(s.CallTimeout)}}
		},
	},
	{
		Name: "kiro", Label: "Kiro", Where: "~/.kiro/settings/mcp.json",
		// command, args, env, disabled, autoApprove, disabledTools (no timeout).
		Doc:  "kiro.dev/docs/mcp/configuration",
		File: "mcp.json", dir: homeDir(".kiro", "settings"),
		Servers: "mcpServers", Format: JSON, NewMode: 0o600,
		Owned: []string{"command", "args"},
		fields: func(s Server) []Field {
			return []Field{{"command", s.Command}, {"args", s.Args}, {"env", map[string]string{}}, {"disabled", false}}
		},
	},
	{
		Name: "claude", Label: "Claude Desktop",
		Where: "claude_desktop_config.json in\n~/Library/Application Support/Claude (macOS),\n" +
			`%APPDATA%\Claude (Windows), ~/.config/Claude (Linux)`,
		Doc:  "modelcontextprotocol.io quickstart (mcpServers with command, args, env)",
		File: "claude_desktop_config.json", dir: claudeDir,
		Servers: "mcpServers", Format: JSON, NewMode: 0o600,
		Owned:  []string{"command", "args"},
		fields: commandArgsEnv,
	},
	{
		Name: "cursor", Label: "Cursor", Where: "~/.cursor/mcp.json",
		Doc:  "cursor.com/docs (MCP): mcpServers with command, args, env",
		File: "mcp.json", dir: homeDir(".cursor"),
		Servers: "mcpServers", Format: JSON, NewMode: 0o600,
		Owned:  []string{"command", "args"},
		fields: commandArgsEnv,
	},
	{
		Name: "vscode", Label: "VS Code", Where: ".vscode/mcp.json in the current directory",
		// "servers", not mcpServers; stdio entries need type "stdio".
		Doc:  "code.visualstudio.com/docs/copilot/reference/mcp-configuration",
		File: filepath.Join(".vscode", "mcp.json"), dir: workDir,
		Servers: "servers", Format: JSONC, NewMode: 0o644,
		Owned: []string{"type", "command", "args"},
		fields: func(s Server) []Field {
			return []Field{{"type", "stdio"}, {"command", s.Command}, {"args", s.Args}}
		},
	},
}

func commandArgsEnv(s Server) []Field {
	return []Field{{"command", s.Command}, {"args", s.Args}, {"env", map[string]string{}}}
}

// amazonQTimeout is the client-side request timeout for Amazon Q, in
// milliseconds: a little longer than the proxy's own call timeout, so that a
// slow call ends with the proxy's explanation rather than the client's.
func amazonQTimeout(call time.Duration) int64 {
	return (call + 10*time.Second).Milliseconds()
}

// Lookup returns the client named name, or nil.
func Lookup(name string) *Client {
	for _, c := range All {
		if c.Name == name {
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
