package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/agw-proxy/agw-proxy/internal/clients"
	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/internal/textdist"
)

func init() {
	register(command{name: "mcp-config", summary: "Print or install the entry an MCP client needs to launch agw-proxy", run: runMCPConfig})
}

func mcpConfigUsage() string {
	return `Usage:
    agw-proxy mcp-config --client CLIENT [options] [profile options]
    agw-proxy mcp-config --detect [profile options]
    agw-proxy mcp-config --client all --write|--remove [options] [profile opts]
    agw-proxy mcp-config --client claude-desktop --mcpb FILE [profile options]

Print the MCP server entry that makes CLIENT launch "agw-proxy serve", or with
--write merge it into the client's config file (--remove takes it out). The
entry runs this binary by its absolute path with the same profile options
given here, one array element each (no shell quoting), or "--profile NAME"
when the profile comes from the config file. Secrets are never written: store
them with "agw-proxy login".

Clients and the file --write changes:
` + clientsUsage() + `
--write keeps every other entry and setting in the file, and its comments and
layout; it creates the file and its folders when missing, replaces the file
atomically and keeps the previous one as FILE.bak. Running it again changes
nothing. An entry of the same name that runs something else is left alone
unless --force is given; then only the fields agw-proxy writes are replaced
(autoApprove and the like are kept). An entry that differs only in its
timeouts (from --call-timeout) is updated.

--detect lists the clients on this machine (their config file exists, or their
program is on PATH) and the entry each has: none, up to date, stale (another
binary, profile options or timeout) or other (another program of that name).
--client all writes or removes the entry in every client --detect lists,
reporting each and going on after a failure.
--remove takes the entry out, keeping everything else (and FILE.bak); an entry
of that name that runs another program is left unless --force is given.
--mcpb FILE writes a Claude Desktop extension (an MCP Bundle, FILE.mcpb) that
holds this binary and runs it with the profile: opening FILE in Claude
Desktop installs it, and asks for the profile's secrets (the Cognito client
secret, and each secret its inject rules name), which Claude Desktop keeps in
the OS keychain and passes in the environment; one left empty is read from
the keychain entry "agw-proxy login" made. The bundle is for this OS and CPU.

Options:
` + wrapOption("--client CLIENT", orList(append(clients.Names(), "all"))+" (all: every client --detect finds)") +
		`    --detect               List the clients on this machine and their entry
    --name NAME            Server name in the client (default "agw-proxy", or
                           "agw-proxy-PROFILE" for a profile other than default)
    --write                Merge the entry into the client's config file
    --remove               Take the entry out of the client's config file
    --force                With --write, replace an entry of the same name that
                           differs; with --remove, remove it whatever it runs
    --file FILE            Config file to print for or write to, instead of the
                           client's default (e.g. a workspace .amazonq/mcp.json)
    --mcpb FILE            Write a Claude Desktop extension (.mcpb) for the profile
` + logFlagsUsage + `    -h, --help             Show this help

` + profile.FlagsUsage(profile.AllFlags) + `
Examples:
    A profile from the config file, installed into Kiro (CLI and IDE):
    $ agw-proxy mcp-config --client kiro --profile work --write

    Everything in the entry's args, no config file; print it for Claude Code:
    $ agw-proxy mcp-config --client claude-code \
        --gateway-url https://GATEWAY.gateway.bedrock-agentcore.us-east-1.amazonaws.com/mcp \
        --token-url https://DOMAIN.auth.us-east-1.amazoncognito.com/oauth2/token \
        --client-id ID --scope gw/read \
        --inject X-Asana-Token=asana --inject-tools 'AgentCoreGwyAPIGatewayTarget___*'

    Then store the secrets once: "agw-proxy login" and "agw-proxy login asana".

    Which clients are here, and what they run; then bring them all up to date:
    $ agw-proxy mcp-config --detect --profile work
    $ agw-proxy mcp-config --client all --profile work --write

    A Claude Desktop extension for the profile, to open in Claude Desktop:
    $ agw-proxy mcp-config --client claude-desktop --profile work --mcpb work.mcpb
`
}

// clientsUsage lists the clients of the table and the file each reads.
func clientsUsage() string {
	var b strings.Builder
	width := clientNameWidth()
	for _, c := range clients.All {
		label := c.Label
		if c.Covers != "" {
			label += " (" + c.Covers + ")"
		}
		for _, a := range c.Aliases {
			label += ", also --client " + a
		}
		where := strings.ReplaceAll(c.Where, "\n", "\n"+strings.Repeat(" ", 4+width+1))
		fmt.Fprintf(&b, "    %-*s %s:\n%s%s\n", width, c.Name, label, strings.Repeat(" ", 4+width+1), where)
	}
	return b.String()
}

// clientNameWidth is the width of the column of client names in the usage.
func clientNameWidth() int {
	width := 0
	for _, c := range clients.All {
		width = max(width, len(c.Name))
	}
	return width
}

// orList is "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// wrapOption is an option's lines of the usage text: the flag, then its
// help from column 28, wrapped at 80 columns.
func wrapOption(flag, help string) string {
	const helpCol, width = 27, 80
	var b strings.Builder
	line, words := fmt.Sprintf("    %-*s", helpCol-5, flag), 0
	for _, w := range strings.Fields(help) {
		if words > 0 && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line, words = strings.Repeat(" ", helpCol-1), 0
		}
		line += " " + w
		words++
	}
	return b.String() + line + "\n"
}

// mcpConfigOptions are what mcp-config was asked to do.
type mcpConfigOptions struct {
	fs           *pflag.FlagSet
	pf           *profile.Flags
	lf           *logFlags
	client       *clients.Client // nil for --client all and --detect
	all, detect  bool
	name, file   string
	write, force bool
	remove       bool
	mcpb         string // --mcpb FILE
}

func runMCPConfig(ctx context.Context, e *env, args []string) error {
	o, done, err := parseMCPConfig(e, args)
	if done {
		return err
	}
	if o.detect || o.all {
		return runMCPConfigAll(e, o)
	}
	if o.mcpb != "" {
		return runMCPConfigBundle(e, o)
	}
	path := o.file
	if path == "" {
		if path, err = o.client.Path(clientEnv(e)); err != nil {
			return withHints(err, "name it with --file FILE")
		}
	}
	path = absPath(path)
	if o.remove {
		name, err := mcpServerName(e, o)
		if err != nil {
			return err
		}
		res, err := o.client.Remove(path, name, o.force)
		if err != nil {
			return removeAdvice(err)
		}
		reportRemove(e, "", res, name)
		return nil
	}
	server, name, err := mcpServer(e, o)
	if err != nil {
		return err
	}
	if !o.write {
		out, err := o.client.Snippet(name, server)
		if err == nil {
			_, err = e.stdout.Write(printableLines(out))
		}
		if err != nil {
			return err
		}
		hintf(e, "this entry goes under %q in %s; add --write to merge it there", o.client.Servers, path)
		return nil
	}
	res, err := o.client.Install(path, name, server, o.force)
	if err != nil {
		return installAdvice(err)
	}
	if reportInstall(e, "", res, name) {
		writef(e.stdout, "Restart %s (or reload its MCP servers) to pick it up.\n", o.client.Label)
	}
	return nil
}

// clientEnv is where the clients' files are, as e sees it.
func clientEnv(e *env) clients.Env {
	return clients.Env{Getenv: e.getenv, GOOS: runtime.GOOS, LookPath: exec.LookPath}
}

// reportInstall prints what Install did, each line after prefix ("" or
// "CLIENT: "); changed says whether the file was written.
func reportInstall(e *env, prefix string, res clients.Result, name string) (changed bool) {
	switch res.Action {
	case clients.Unchanged:
		writef(e.stdout, "%s%s: MCP server %q is already up to date\n", prefix, res.Path, name)
		return false
	case clients.Created:
		writef(e.stdout, "%s%s: created with MCP server %q\n", prefix, res.Path, name)
	default:
		writef(e.stdout, "%s%s: %s MCP server %q (previous file kept as %s)\n", prefix, res.Path, res.Action, name, res.Path+".bak")
	}
	return true
}

// reportRemove prints what Remove did, like reportInstall.
func reportRemove(e *env, prefix string, res clients.Result, name string) {
	if res.Action == clients.Unchanged {
		writef(e.stdout, "%s%s: no MCP server %q, nothing to remove\n", prefix, res.Path, name)
		return
	}
	writef(e.stdout, "%s%s: removed MCP server %q (previous file kept as %s)\n", prefix, res.Path, name, res.Path+".bak")
}

// runMCPConfigAll is --detect, and --client all: the clients Detect finds.
func runMCPConfigAll(e *env, o *mcpConfigOptions) error {
	found := clients.Detect(clientEnv(e))
	if o.detect {
		return detectReport(e, o, found)
	}
	if len(found) == 0 {
		return withHints(errors.New("mcp-config: no MCP client found on this machine"),
			"name one with --client (clients: "+strings.Join(clients.Names(), ", ")+")")
	}
	var (
		server clients.Server
		name   string
		err    error
	)
	if o.remove {
		name, err = mcpServerName(e, o)
	} else {
		server, name, err = mcpServer(e, o)
	}
	if err != nil {
		return err
	}
	failed := 0
	var restart []string
	for _, f := range found {
		prefix := f.Client.Name + ": "
		var res clients.Result
		var err error
		if o.remove {
			if res, err = f.Client.Remove(f.Path, name, o.force); err == nil {
				reportRemove(e, prefix, res, name)
			} else {
				err = removeAdvice(err)
			}
		} else {
			if res, err = f.Client.Install(f.Path, name, server, o.force); err == nil {
				if reportInstall(e, prefix, res, name) && !slices.Contains(restart, f.Client.Label) {
					restart = append(restart, f.Client.Label)
				}
			} else {
				err = installAdvice(err)
			}
		}
		if err != nil {
			failed++
			fail(e, clientError(f.Client, err))
		}
	}
	if len(restart) > 0 {
		writef(e.stdout, "Restart %s (or reload their MCP servers) to pick it up.\n", andList(restart))
	}
	if failed > 0 {
		return fmt.Errorf("mcp-config: %d of %d clients failed (above); the others are done", failed, len(found))
	}
	return nil
}

// clientError is err of one client of --client all, naming the client and
// keeping err's hints.
func clientError(c *clients.Client, err error) error {
	var h hinter
	var hints []string
	if errors.As(err, &h) {
		hints = h.Hints()
	}
	return withHints(fmt.Errorf("%s: %w", c.Name, err), hints...)
}

// detectReport prints the clients found and the entry each has; without a
// profile that serve could run, it says only whether there is an entry.
func detectReport(e *env, o *mcpConfigOptions, found []clients.Found) error {
	var want *clients.Server
	name, err := mcpServerName(e, o)
	if err != nil {
		return err
	}
	server, _, serr := mcpServer(e, o)
	if serr == nil {
		want = &server
	}
	if len(found) == 0 {
		writef(e.stdout, "No MCP client found on this machine.\n")
		hintf(e, "name one with --client (clients: %s)", strings.Join(clients.Names(), ", "))
		return nil
	}
	writef(e.stdout, "MCP clients on this machine, and their MCP server %q:\n", name)
	width := clientNameWidth()
	var none, stale int
	for _, f := range found {
		st, err := f.Client.Status(f.Path, name, want)
		state, detail := string(st.State), st.Why
		if err != nil {
			state, detail = "unreadable", err.Error()
		}
		where := f.Path
		if !f.Exists {
			where += " (no file yet; " + filepath.Base(f.Binary) + " is on PATH)"
		}
		writef(e.stdout, "    %-*s %-10s  %s\n", width, f.Client.Name, state, where)
		if detail != "" {
			writef(e.stdout, "    %*s %s\n", width, "", detail)
		}
		switch st.State {
		case clients.None:
			none++
		case clients.Stale:
			stale++
		}
	}
	switch {
	case want == nil:
		hintf(e, "give the profile options to compare the entries with them (%v)", serr)
	case none+stale > 0:
		hintf(e, `write them with "agw-proxy mcp-config --client all --write" and the same profile options (a stale entry that runs another binary or args needs --force)`)
	}
	return nil
}

// parseMCPConfig parses and checks mcp-config's flags; done is true when
// the command ends here, with err.
func parseMCPConfig(e *env, args []string) (o *mcpConfigOptions, done bool, err error) {
	o = &mcpConfigOptions{fs: pflag.NewFlagSet("mcp-config", pflag.ContinueOnError)}
	fs := o.fs
	var clientName string
	fs.StringVar(&clientName, "client", "", "MCP client")
	fs.StringVar(&o.name, "name", "", "Server name")
	fs.BoolVar(&o.detect, "detect", false, "List the clients on this machine")
	fs.BoolVar(&o.write, "write", false, "Merge into the client's config file")
	fs.BoolVar(&o.remove, "remove", false, "Take the entry out of the client's config file")
	fs.BoolVar(&o.force, "force", false, "Replace a differing entry")
	fs.StringVar(&o.file, "file", "", "Config file")
	fs.StringVar(&o.mcpb, "mcpb", "", "Claude Desktop extension to write")
	o.pf, o.lf = profile.AddFlags(fs, profile.AllFlags), addLogFlags(fs)
	if done, err := parseFlags(e, fs, mcpConfigUsage(), args); done {
		return nil, true, err
	}
	if fs.NArg() > 0 {
		return nil, true, usageErrorf("mcp-config", "unexpected argument %q", fs.Arg(0))
	}
	o.all = clientName == "all"
	switch {
	case o.detect && clientName != "":
		return nil, true, usageErrorf("mcp-config", "--detect lists every client: it takes no --client")
	case o.detect || o.all:
	case clientName == "":
		return nil, true, usageErrorf("mcp-config", "--client is required (one of %s, all), or --detect", strings.Join(clients.Names(), ", "))
	default:
		if o.client = clients.Lookup(clientName); o.client == nil {
			var hints []string
			if s := textdist.Nearest(clientName, append(clients.Names(), "all")); s != "" {
				hints = append(hints, fmt.Sprintf("did you mean --client %s?", s))
			}
			hints = append(hints, "clients: "+strings.Join(clients.Names(), ", ")+", all")
			return nil, true, usageError(withHints(fmt.Errorf("mcp-config: unknown client %q", clientName), hints...))
		}
	}
	var problem string
	switch _, err := o.lf.level(); {
	case o.write && o.remove:
		problem = "--write and --remove exclude each other"
	case o.detect && (o.write || o.remove || o.force || fs.Changed("file")):
		problem = "--detect only lists: it takes no --write, --remove, --force or --file"
	case o.all && !o.write && !o.remove:
		problem = "--client all needs --write or --remove (--detect lists the clients)"
	case o.all && fs.Changed("file"):
		problem = "--file names one client's file: it does not go with --client all"
	case fs.Changed("mcpb") && o.mcpb == "":
		problem = "--mcpb: empty file name"
	case o.mcpb != "" && (o.client == nil || o.client.Name != "claude-desktop"):
		problem = "--mcpb makes a Claude Desktop extension: it goes with --client claude-desktop"
	case o.mcpb != "" && (o.write || o.remove || fs.Changed("file")):
		problem = "--mcpb writes the extension file: it takes no --write, --remove or --file"
	case o.force && !o.write && !o.remove:
		problem = "--force applies only with --write or --remove"
	case fs.Changed("name") && !clients.ValidServerName(o.name):
		problem = "--name must be 1 to 250 characters without control characters"
	case fs.Changed("file") && o.file == "":
		problem = "--file: empty file name"
	case err != nil:
		problem = err.Error()
	}
	if problem != "" {
		return nil, true, usageErrorf("mcp-config", "%s", problem)
	}
	return o, false, nil
}

// mcpServerName is the entry's name: --name, else "agw-proxy", or
// "agw-proxy-PROFILE" for a profile other than default. It needs no
// gateway: --remove and --detect work without one.
func mcpServerName(e *env, o *mcpConfigOptions) (string, error) {
	if o.name != "" {
		return o.name, nil
	}
	p, err := e.resolve(o.pf)
	if err != nil {
		return "", err
	}
	return serverName(p), nil
}

func serverName(p *profile.Profile) string {
	if p.Name != profile.DefaultName {
		return "agw-proxy-" + p.Name
	}
	return "agw-proxy"
}

// mcpServer is what the entry runs, and its name: the profile resolved as
// serve will, so a mistake shows now rather than as a server that fails
// inside the client. This is mcp-config's one use of the profile model.
func mcpServer(e *env, o *mcpConfigOptions) (clients.Server, string, error) {
	p, err := e.resolve(o.pf)
	if err == nil {
		err = p.RequireGateway()
	}
	if err != nil {
		return clients.Server{}, "", err
	}
	name := o.name
	if name == "" {
		name = serverName(p)
	}
	exe, note, err := executablePath()
	if err != nil {
		return clients.Server{}, "", withHints(fmt.Errorf("cannot find the agw-proxy binary: %w", err),
			"run agw-proxy by its full path")
	}
	if note != "" {
		hintf(e, "%s", note)
	}
	s := clients.Server{Command: exe, Args: serveArgs(o.fs, o.pf, p), CallTimeout: p.CallTimeout}
	if o.lf.file != "" {
		s.Args = append(s.Args, "--log-file", absPath(o.lf.file))
	}
	if o.fs.Changed("log-level") {
		s.Args = append(s.Args, "--log-level", o.lf.levelName)
	}
	return s, name, nil
}

// installAdvice adds what the user can do about an error of Install.
func installAdvice(err error) error {
	var fe *clients.FileError
	var ee *clients.ExistsError
	var se *clients.SyntaxError
	switch {
	case errors.As(err, &se):
		return withHints(err, "fix the file, or add the entry by hand: run the same command without --write to print it",
			"the file was left untouched")
	case errors.As(err, &fe):
		return withHints(err, "the file was left untouched")
	case errors.As(err, &ee):
		return withHints(err, "add --force to replace it (the previous file is kept as "+filepath.Base(ee.Path)+".bak), or pick another name with --name")
	}
	return err
}

// removeAdvice adds what the user can do about an error of Remove.
func removeAdvice(err error) error {
	var ee *clients.ExistsError
	var fe *clients.FileError
	switch {
	case errors.As(err, &ee):
		return withHints(err, "it is not agw-proxy's: add --force to remove it anyway, or name ours with --name")
	case errors.As(err, &fe):
		return withHints(err, "the file was left untouched")
	}
	return err
}

// printableLines is a document to print with every character a terminal
// could act on escaped, line by line; inside a string such a character
// becomes an escape of the file's format (\u in JSON and TOML).
func printableLines(doc []byte) []byte {
	lines := strings.SplitAfter(string(doc), "\n")
	var b strings.Builder
	for _, line := range lines {
		body := strings.TrimSuffix(line, "\n")
		b.Write(printableJSON([]byte(body)))
		b.WriteString(line[len(body):])
	}
	return []byte(b.String())
}

// executablePath is the path the entry runs: the one agw-proxy was run by,
// made absolute, never where a link leads. A package manager's link (such as
// Homebrew's bin/agw-proxy -> ../Cellar/agw-proxy/1.2.3/bin/agw-proxy) stays
// when an upgrade replaces the versioned folder it leads to. note, when not
// empty, says which path was chosen and why, or that it is a temporary
// build (go run) the client cannot keep using.
func executablePath() (exe, note string, err error) {
	self, err := os.Executable()
	if err != nil {
		return "", "", err
	}
	exe, why := resolveExecutable(os.Args[0], self, exec.LookPath)
	switch {
	case temporaryBuild(exe):
		note = fmt.Sprintf("%s is a temporary build (go run) that is deleted when it ends: build a lasting binary (go build -o agw-proxy ./cmd/agw-proxy) and run its mcp-config", exe)
	case why != "":
		note = fmt.Sprintf("the entry runs %s (%s), not %s where it leads: a link stays when an upgrade moves the binary", exe, why, self)
	}
	return exe, note, nil
}

// resolveExecutable returns the path agw-proxy was run by, given argv[0]
// and os.Executable (self): argv0 itself when it is a path (a link, say),
// else the PATH entry that lookPath finds for it; either only when it is
// the same file as self, which is returned otherwise. why says which it
// was, "" for self.
func resolveExecutable(argv0, self string, lookPath func(string) (string, error)) (exe, why string) {
	invoked, how := argv0, "the path it was run by"
	if !strings.ContainsAny(argv0, "/"+string(filepath.Separator)) {
		p, err := lookPath(argv0)
		if err != nil && !errors.Is(err, exec.ErrDot) {
			return self, ""
		}
		invoked, how = p, "found on PATH as "+argv0
	}
	invoked, err := filepath.Abs(invoked)
	if err != nil || !sameFile(invoked, self) {
		return self, ""
	}
	if invoked == self {
		return self, ""
	}
	return invoked, how
}

// sameFile reports whether a and b name the same existing file.
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// temporaryBuild reports whether exe is in a go-build<digits> folder, where
// go run puts the binary it deletes on exit.
func temporaryBuild(exe string) bool {
	for _, part := range strings.Split(filepath.ToSlash(filepath.Dir(exe)), "/") {
		n, ok := strings.CutPrefix(part, "go-build")
		if ok && n != "" && strings.Trim(n, "0123456789") == "" {
			return true
		}
	}
	return false
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
	for i := 0; i < len(flags); i += 2 {
		if profile.IsSwitch(flags[i]) {
			args = append(args, flags[i])
			i--
			continue
		}
		if i+1 == len(flags) {
			break
		}
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
