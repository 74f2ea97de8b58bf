package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/pflag"

	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/internal/textdist"
)

func init() {
	register(command{name: "mcp-config", summary: "Print or install the entry an MCP client needs to launch agw-proxy", run: runMCPConfig})
}

const mcpConfigUsage = `Usage:
    agw-proxy mcp-config --client CLIENT [options] [profile options]

Print the MCP server entry that makes CLIENT launch "agw-proxy serve", or with
--write merge it into the client's config file. The entry runs this binary by
its absolute path with the same profile options given here, one array element
each (no shell quoting), or "--profile NAME" when the profile comes from the
config file. Secrets are never written: store them with "agw-proxy login".

Clients and the file --write changes:
    amazonq    Amazon Q Developer (CLI and IDE): ~/.aws/amazonq/mcp.json
    kiro       Kiro: ~/.kiro/settings/mcp.json
    claude     Claude Desktop: claude_desktop_config.json in
               ~/Library/Application Support/Claude (macOS),
               %APPDATA%\Claude (Windows), ~/.config/Claude (Linux)
    cursor     Cursor: ~/.cursor/mcp.json
    vscode     VS Code: .vscode/mcp.json in the current directory

--write keeps every other entry and setting in the file, creates the file and
its folders when missing, replaces the file atomically and keeps the previous
one as FILE.bak. Running it again changes nothing. An entry of the same name
that runs something else is left alone unless --force is given; then only the
fields agw-proxy writes are replaced (autoApprove and the like are kept).

Options:
    --client CLIENT        amazonq, kiro, claude, cursor or vscode (required)
    --name NAME            Server name in the client (default "agw-proxy", or
                           "agw-proxy-PROFILE" for a profile other than default)
    --write                Merge the entry into the client's config file
    --force                With --write, replace an entry of the same name that differs
    --file FILE            Config file to print for or write to, instead of the
                           client's default (e.g. a workspace .amazonq/mcp.json)
` + logFlagsUsage + `    -h, --help             Show this help

` + profile.FlagsUsage + `
Examples:
    A profile from the config file, installed into Amazon Q:
    $ agw-proxy mcp-config --client amazonq --profile work --write

    Everything in the entry's args, no config file; print it for Claude Desktop:
    $ agw-proxy mcp-config --client claude \
        --gateway-url https://GATEWAY.gateway.bedrock-agentcore.us-east-1.amazonaws.com/mcp \
        --token-url https://DOMAIN.auth.us-east-1.amazoncognito.com/oauth2/token \
        --client-id ID --scope gw/read \
        --inject X-Asana-Token=asana --inject-tools 'AgentCoreGwyAPIGatewayTarget___*'

    Then store the secrets once: "agw-proxy login" and "agw-proxy login asana".
`

// mcpClient describes one MCP client's config file: where it lives, the key
// that holds its servers, and the entry it expects for a stdio server.
type mcpClient struct {
	name    string // --client value
	label   string // product name, for messages
	servers string // top-level key holding the servers by name
	// path returns the default config file, given the user's environment.
	path func(e *env, goos string) (string, error)
	// newMode is the permission of a file mcp-config creates.
	newMode fs.FileMode
	// entry returns the fields of the server entry, in order. owned fields
	// are those that say what runs; the others are defaults a user may change.
	entry func(s serverSpec) []member
	owned []string
}

// serverSpec is what an entry launches.
type serverSpec struct {
	command     string
	args        []string
	callTimeout time.Duration
}

var mcpClients = []*mcpClient{
	{
		// Documented at docs.aws.amazon.com/amazonq/latest/qdeveloper-ug/command-line-mcp-configuration.html:
		// timeout is per request, in milliseconds (default 120 s).
		name: "amazonq", label: "Amazon Q Developer", servers: "mcpServers", newMode: 0o600,
		path:  homeFile(".aws", "amazonq", "mcp.json"),
		owned: []string{"command", "args"},
		entry: func(s serverSpec) []member {
			return []member{
				jsonMember("command", s.command), jsonMember("args", s.args),
				jsonMember("env", struct{}{}), jsonMember("timeout", amazonQTimeout(s.callTimeout)),
			}
		},
	},
	{
		// kiro.dev/docs/mcp/configuration: command, args, env, disabled,
		// autoApprove, disabledTools (no timeout).
		name: "kiro", label: "Kiro", servers: "mcpServers", newMode: 0o600,
		path:  homeFile(".kiro", "settings", "mcp.json"),
		owned: []string{"command", "args"},
		entry: func(s serverSpec) []member {
			return []member{
				jsonMember("command", s.command), jsonMember("args", s.args),
				jsonMember("env", struct{}{}), jsonMember("disabled", false),
			}
		},
	},
	{
		// modelcontextprotocol.io quickstart: mcpServers with command, args, env.
		name: "claude", label: "Claude Desktop", servers: "mcpServers", newMode: 0o600,
		path:  claudeConfigPath,
		owned: []string{"command", "args"},
		entry: func(s serverSpec) []member {
			return []member{jsonMember("command", s.command), jsonMember("args", s.args), jsonMember("env", struct{}{})}
		},
	},
	{
		// cursor.com/docs (MCP): ~/.cursor/mcp.json, mcpServers with command, args, env.
		name: "cursor", label: "Cursor", servers: "mcpServers", newMode: 0o600,
		path:  homeFile(".cursor", "mcp.json"),
		owned: []string{"command", "args"},
		entry: func(s serverSpec) []member {
			return []member{jsonMember("command", s.command), jsonMember("args", s.args), jsonMember("env", struct{}{})}
		},
	},
	{
		// code.visualstudio.com/docs/copilot/reference/mcp-configuration:
		// "servers" (not mcpServers); stdio entries need type "stdio".
		name: "vscode", label: "VS Code", servers: "servers", newMode: 0o644,
		path: func(e *env, _ string) (string, error) {
			wd, err := os.Getwd()
			if err != nil {
				return "", err
			}
			return filepath.Join(wd, ".vscode", "mcp.json"), nil
		},
		owned: []string{"type", "command", "args"},
		entry: func(s serverSpec) []member {
			return []member{jsonMember("type", "stdio"), jsonMember("command", s.command), jsonMember("args", s.args)}
		},
	},
}

// amazonQTimeout is the client-side request timeout for Amazon Q, in
// milliseconds: a little longer than the proxy's own call timeout, so that a
// slow call ends with the proxy's explanation rather than the client's.
func amazonQTimeout(call time.Duration) int64 {
	return (call + 10*time.Second).Milliseconds()
}

func lookupClient(name string) *mcpClient {
	for _, c := range mcpClients {
		if c.name == name {
			return c
		}
	}
	return nil
}

func clientNames() []string {
	var names []string
	for _, c := range mcpClients {
		names = append(names, c.name)
	}
	return names
}

// homeDir is the user's home directory: $HOME (%USERPROFILE% on Windows), so
// tests can point it elsewhere.
func (e *env) homeDir() (string, error) {
	if h := e.getenv("HOME"); h != "" {
		return h, nil
	}
	if h := e.getenv("USERPROFILE"); h != "" && runtime.GOOS == "windows" {
		return h, nil
	}
	return os.UserHomeDir()
}

// homeFile returns a path function for a file under the home directory.
func homeFile(elem ...string) func(*env, string) (string, error) {
	return func(e *env, _ string) (string, error) {
		home, err := e.homeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(append([]string{home}, elem...)...), nil
	}
}

// claudeConfigPath is where Claude Desktop keeps its config on goos.
func claudeConfigPath(e *env, goos string) (string, error) {
	const file = "claude_desktop_config.json"
	switch goos {
	case "windows":
		if d := e.getenv("APPDATA"); d != "" {
			return filepath.Join(d, "Claude", file), nil
		}
		home, err := e.homeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, "AppData", "Roaming", "Claude", file), nil
	case "darwin":
		home, err := e.homeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, "Library", "Application Support", "Claude", file), nil
	default:
		// Linux builds of Claude Desktop follow XDG.
		if d := e.getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
			return filepath.Join(d, "Claude", file), nil
		}
		home, err := e.homeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, ".config", "Claude", file), nil
	}
}

func runMCPConfig(ctx context.Context, e *env, args []string) error {
	fs := pflag.NewFlagSet("mcp-config", pflag.ContinueOnError)
	var clientName, name, file string
	var write, force bool
	fs.StringVar(&clientName, "client", "", "MCP client")
	fs.StringVar(&name, "name", "", "Server name")
	fs.BoolVar(&write, "write", false, "Merge into the client's config file")
	fs.BoolVar(&force, "force", false, "Replace a differing entry")
	fs.StringVar(&file, "file", "", "Config file")
	pf := profile.AddFlags(fs)
	lf := addLogFlags(fs)
	if done, err := parseFlags(e, fs, mcpConfigUsage, args); done {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("mcp-config", "unexpected argument %q", fs.Arg(0))
	}
	if clientName == "" {
		return usageErrorf("mcp-config", "--client is required (one of %s)", strings.Join(clientNames(), ", "))
	}
	client := lookupClient(clientName)
	if client == nil {
		hints := []string{}
		if s := textdist.Nearest(clientName, clientNames()); s != "" {
			hints = append(hints, fmt.Sprintf("did you mean --client %s?", s))
		}
		hints = append(hints, "clients: "+strings.Join(clientNames(), ", "))
		return usageError(withHints(fmt.Errorf("mcp-config: unknown client %q", clientName), hints...))
	}
	if force && !write {
		return usageErrorf("mcp-config", "--force applies only with --write")
	}
	if fs.Changed("name") && !validServerName(name) {
		return usageErrorf("mcp-config", "--name must be 1 to 250 characters without control characters")
	}
	if fs.Changed("file") && file == "" {
		return usageErrorf("mcp-config", "--file: empty file name")
	}
	if _, err := lf.level(); err != nil {
		return usageErrorf("mcp-config", "%v", err)
	}

	// Resolve the profile as serve will, so a mistake shows now rather than
	// as a server that fails inside the client.
	p, err := e.resolve(pf)
	if err == nil {
		err = p.RequireGateway()
	}
	if err != nil {
		return err
	}
	if name == "" {
		name = "agw-proxy"
		if p.Name != profile.DefaultName {
			name += "-" + p.Name
		}
	}
	exe, err := executablePath()
	if err != nil {
		return (withHints(fmt.Errorf("cannot find the agw-proxy binary: %w", err),
			"run agw-proxy by its full path"))
	}
	spec := serverSpec{command: exe, args: serveArgs(fs, pf, p), callTimeout: p.CallTimeout}
	if lf.file != "" {
		spec.args = append(spec.args, "--log-file", absPath(lf.file))
	}
	if fs.Changed("log-level") {
		spec.args = append(spec.args, "--log-level", lf.levelName)
	}

	path := file
	if path == "" {
		path, err = client.path(e, runtime.GOOS)
		if err != nil {
			return (withHints(fmt.Errorf("cannot locate the %s config file: %w", client.label, err),
				"name it with --file FILE"))
		}
	}
	path = absPath(path)

	if !write {
		entry := renderObject(client.entry(spec))
		out := renderObject([]member{{key: client.servers, value: renderObject([]member{{key: name, value: entry}})}})
		if err := writeIndented(e.stdout, printableJSON(out), "  "); err != nil {
			return err
		}
		hintf(e, "this entry goes under %q in %s; add --write to merge it there", client.servers, path)
		return nil
	}

	res, err := installEntry(path, client, name, spec, force)
	if err != nil {
		return err
	}
	switch res.action {
	case "unchanged":
		writef(e.stdout, "%s: MCP server %q is already up to date\n", res.path, name)
	case "created":
		writef(e.stdout, "%s: created with MCP server %q\n", res.path, name)
	default:
		writef(e.stdout, "%s: %s MCP server %q (previous file kept as %s)\n", res.path, res.action, name, res.path+".bak")
	}
	if res.action != "unchanged" {
		writef(e.stdout, "Restart %s (or reload its MCP servers) to pick it up.\n", client.label)
	}
	return nil
}

// validServerName: clients use the name as a key and in their UI; Amazon Q
// allows at most 250 characters.
func validServerName(name string) bool {
	if name == "" || utf8.RuneCountInString(name) > 250 {
		return false
	}
	return !strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// executablePath is the absolute path of the running binary with symlinks
// resolved, except into a Homebrew Cellar: its versioned folder disappears on
// upgrade, while the symlink in bin/ stays.
func executablePath() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	return resolveExecutable(exe), nil
}

func resolveExecutable(exe string) string {
	exe = absPath(exe)
	real, err := filepath.EvalSymlinks(exe)
	if err != nil {
		return exe
	}
	if strings.Contains(filepath.ToSlash(real), "/Cellar/") && !strings.Contains(filepath.ToSlash(exe), "/Cellar/") {
		return exe
	}
	return real
}

// absPath makes a file name absolute (expanding a leading "~/"): a client
// starts the server in a directory of its own choosing.
func absPath(name string) string {
	name = profile.ResolvePath("", name)
	if abs, err := filepath.Abs(name); err == nil {
		return abs
	}
	return name
}

// serveArgs returns the args of "agw-proxy serve" that select the same
// profile: the profile flags given, file names made absolute, and --config
// and --profile whenever the profile comes from a config file or was chosen
// through the environment (which the client will not have).
func serveArgs(fs *pflag.FlagSet, pf *profile.Flags, p *profile.Profile) []string {
	args := []string{"serve"}
	if fs.Changed("config") || p.ConfigSet && p.InFile {
		args = append(args, "--config", absPath(p.ConfigPathOr(fs.Lookup("config").Value.String())))
	}
	if fs.Changed("profile") || p.InFile || p.NameSet {
		args = append(args, "--profile", p.Name)
	}
	flags := pf.Args()
	for i := 0; i+1 < len(flags); i += 2 {
		name, val := flags[i], flags[i+1]
		switch name {
		case "--config", "--profile":
			continue
		case "--ca-file":
			val = absPath(val)
		}
		args = append(args, name, val)
	}
	return args
}

// member is one key of a JSON object, with its value as raw JSON.
type member struct {
	key   string
	value json.RawMessage
}

// jsonMember encodes v as the value of key.
func jsonMember(key string, v any) member {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only called with encodable values
	}
	return member{key: key, value: bytes.TrimSpace(b.Bytes())}
}

// renderObject writes members as a compact JSON object, in order.
func renderObject(members []member) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(jsonMember("", m.key).value)
		b.WriteByte(':')
		if err := json.Compact(&b, m.value); err != nil {
			panic(err) // values come from a parsed file or jsonMember
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

func writeIndented(w io.Writer, compact []byte, indent string) error {
	var b bytes.Buffer
	if err := json.Indent(&b, compact, "", indent); err != nil {
		return err
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// jsonFileError is a problem with the contents of a client's config file.
func jsonFileError(path string, data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := lineCol(data, se.Offset)
		return withHints(fmt.Errorf("%s:%d:%d: invalid JSON: %v", path, line, col, se),
			"fix the file (comments and trailing commas are not JSON), or add the entry by hand: run the same command without --write to print it",
			"the file was left untouched")
	}
	return withHints(fmt.Errorf("%s: %v", path, err), "the file was left untouched")
}

// lineCol converts the byte offset of a json.SyntaxError (bytes read when
// the error was found) to a 1-based line and column (in characters).
func lineCol(data []byte, offset int64) (line, col int) {
	pos := int(min(max(offset-1, 0), int64(len(data))))
	if offset > 0 && pos == len(data) && pos > 0 {
		pos-- // at end of input: point at the last byte
	}
	before := data[:pos]
	line = 1 + bytes.Count(before, []byte("\n"))
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(data[start:pos]) + 1
}

// parseObject parses a JSON object keeping its keys in order; values stay
// raw, so what agw-proxy does not touch is written back as it was.
func parseObject(data []byte) ([]member, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err // a *json.SyntaxError carries the offset
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, fmt.Errorf("the file holds a JSON %s, not an object", jsonKind(v))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var members []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		members = append(members, member{key: tok.(string), value: raw})
	}
	return members, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		return "number"
	}
	return "object"
}

// index returns the position of the first member named key, or -1.
func index(members []member, key string) int {
	return slices.IndexFunc(members, func(m member) bool { return m.key == key })
}

// sameJSON reports whether two JSON values mean the same.
func sameJSON(a, b json.RawMessage) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// detectIndent returns the indentation the file uses (its first indented
// line), so a rewrite keeps the user's style; two spaces by default.
func detectIndent(data []byte) string {
	for _, line := range bytes.Split(data, []byte("\n")) {
		trimmed := bytes.TrimLeft(line, " \t")
		if len(trimmed) == 0 || len(trimmed) == len(line) {
			continue
		}
		ws := line[:len(line)-len(trimmed)]
		if ws[0] == '\t' {
			return "\t"
		}
		if n := len(ws); n <= 8 && bytes.Count(ws, []byte(" ")) == n {
			return string(ws)
		}
		break
	}
	return "  "
}

// installResult says what installEntry did.
type installResult struct {
	path   string // the file written (a symlink's target)
	action string // "created", "added", "updated" or "unchanged"
}

// installEntry merges the server entry name into the config file at path.
// The file is replaced atomically and its previous contents kept in
// path.bak; nothing is written when the entry is already there. An entry of
// the same name whose owned fields differ is an error unless force.
func installEntry(path string, c *mcpClient, name string, spec serverSpec, force bool) (installResult, error) {
	// Write through a symlink (dotfile managers), not over it.
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		if real, err := filepath.EvalSymlinks(path); err == nil {
			path = real
		}
	}
	res := installResult{path: path}
	data, err := os.ReadFile(path)
	exists := err == nil
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return res, fmt.Errorf("%s: %w", path, unwrapPathError(err))
	}
	mode := c.newMode
	if exists {
		if fi, err := os.Stat(path); err == nil {
			mode = fi.Mode().Perm()
		}
	}

	var top []member
	if len(bytes.TrimSpace(data)) > 0 {
		top, err = parseObject(data)
		if err != nil {
			return res, jsonFileError(path, data, err)
		}
	}
	var servers []member
	si := index(top, c.servers)
	if si >= 0 {
		if bytes.Equal(bytes.TrimSpace(top[si].value), []byte("null")) {
			top[si].value = json.RawMessage("{}")
		}
		servers, err = parseObject(top[si].value)
		if err != nil {
			return res, withHints(fmt.Errorf("%s: %q is not a JSON object", path, c.servers), "the file was left untouched")
		}
	}

	fields := c.entry(spec)
	var newEntry json.RawMessage
	ei := index(servers, name)
	switch {
	case ei < 0:
		newEntry = renderObject(fields)
		res.action = "added"
	default:
		old, err := parseObject(servers[ei].value)
		if err == nil && ownedEqual(old, fields, c.owned) {
			res.action = "unchanged"
			return res, nil
		}
		if !force {
			what := "is not an object"
			if err == nil {
				what = "runs a different command or args"
				if oi := index(old, "command"); oi >= 0 && !sameJSON(old[oi].value, jsonMember("", spec.command).value) {
					what = "runs " + string(old[oi].value)
				}
			}
			return res, withHints(fmt.Errorf("%s: MCP server %q already exists and %s", path, name, what),
				"add --force to replace it (the previous file is kept as "+filepath.Base(path)+".bak), or pick another name with --name")
		}
		if err != nil {
			old = nil
		}
		// Replace the fields agw-proxy writes; keep the user's others.
		for _, f := range fields {
			if i := index(old, f.key); i >= 0 {
				old[i].value = f.value
			} else {
				old = append(old, f)
			}
		}
		newEntry = renderObject(old)
		res.action = "updated"
	}
	if ei >= 0 {
		servers[ei].value = newEntry
	} else {
		servers = append(servers, member{key: name, value: newEntry})
	}
	if si >= 0 {
		top[si].value = renderObject(servers)
	} else {
		top = append(top, member{key: c.servers, value: renderObject(servers)})
	}

	var out bytes.Buffer
	if err := writeIndented(&out, renderObject(top), detectIndent(data)); err != nil {
		return res, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return res, fmt.Errorf("%s: %w", filepath.Dir(path), unwrapPathError(err))
	}
	if exists {
		if err := writeFileAtomic(path+".bak", data, mode); err != nil {
			return res, err
		}
	} else {
		res.action = "created"
	}
	if err := writeFileAtomic(path, out.Bytes(), mode); err != nil {
		return res, err
	}
	return res, nil
}

// ownedEqual reports whether the entry old already has the owned fields of
// want, with the same meaning.
func ownedEqual(old, want []member, owned []string) bool {
	for _, key := range owned {
		oi, wi := index(old, key), index(want, key)
		if oi < 0 || wi < 0 || !sameJSON(old[oi].value, want[wi].value) {
			return false
		}
	}
	return true
}

// writeFileAtomic replaces path with data: a temporary file in the same
// folder, synced, then renamed over it, so a reader never sees half a file.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Dir(path), unwrapPathError(err))
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, unwrapPathError(err))
	}
	return nil
}
