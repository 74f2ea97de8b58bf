// Command agw-proxy is a local stdio MCP server that forwards every call to an
// Amazon Bedrock AgentCore Gateway, handles the Gateway's Cognito tokens, and
// fills secret tool arguments from the OS keychain so the model never sees them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/agw-proxy/agw-proxy/oauth"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// Exit codes, part of the command-line contract.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitLoginNeeded = 4
)

func main() {
	// A client that closes our stdout must make writes fail (and serve end),
	// not kill the process with SIGPIPE: asking for the signal does that.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], newEnv())
	stop()
	os.Exit(code)
}

// env is everything a subcommand may touch outside its arguments, so that
// tests can run subcommands without a process.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// userConfigDir is os.UserConfigDir unless a test replaces it; nil means
	// os.UserConfigDir. Use e.configDir().
	userConfigDir func() (string, error)
}

func newEnv() *env {
	return &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, userConfigDir: os.UserConfigDir}
}

// configDir is where agw-proxy's config directory lives (os.UserConfigDir).
func (e *env) configDir() (string, error) {
	if e.userConfigDir != nil {
		return e.userConfigDir()
	}
	return os.UserConfigDir()
}

// command is one subcommand: it parses its own flags and returns an exit code.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) int
}

// commands lists the registered subcommands. Each lives in a file of its own
// and registers itself from init, so the order here is file order; help
// sorts them by commandOrder.
var commands []command

func register(c command) { commands = append(commands, c) }

// commandOrder is the order help lists commands in: the everyday ones first.
// Commands not named here follow, in registration order.
var commandOrder = []string{"serve", "login", "logout", "status", "doctor", "mcp-config", "demo", "version"}

// orderedCommands returns the registered commands in commandOrder.
func orderedCommands() []command {
	rank := func(name string) int {
		if i := slices.Index(commandOrder, name); i >= 0 {
			return i
		}
		return len(commandOrder)
	}
	out := slices.Clone(commands)
	slices.SortStableFunc(out, func(a, b command) int { return rank(a.name) - rank(b.name) })
	return out
}

func lookupCommand(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

const usage = `agw-proxy connects desktop MCP clients to an Amazon Bedrock AgentCore Gateway.

Usage:
    agw-proxy <command> [options]

Commands:
%s
Run "agw-proxy <command> --help" for a command's options.
`

func printUsage(w io.Writer) {
	var list string
	for _, c := range orderedCommands() {
		list += fmt.Sprintf("    %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, usage, list)
}

func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		printUsage(e.stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help":
		printUsage(e.stdout)
		return exitOK
	case "help":
		// "agw-proxy help serve" is "agw-proxy serve --help".
		if len(args) > 1 {
			if _, ok := lookupCommand(args[1]); ok {
				args = []string{args[1], "--help"}
				break
			}
		}
		printUsage(e.stdout)
		return exitOK
	case "--version":
		args = []string{"version"}
	}
	if c, ok := lookupCommand(args[0]); ok {
		return c.run(ctx, e, args[1:])
	}
	errorf(e, "unknown command %q", args[0])
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
	}
	if s := nearest(args[0], names); s != "" && !strings.HasPrefix(args[0], "-") {
		hintf(e, "did you mean %q?", "agw-proxy "+s)
	}
	hintf(e, `run "agw-proxy --help" for the list of commands`)
	return exitUsage
}

// parseFlags parses a subcommand's args into fs. done reports that the
// command must stop now with code: 0 after printing usage to stdout for
// -h/--help, or 2 after an error and a hint on stderr for a bad flag.
func parseFlags(e *env, fs *pflag.FlagSet, usage string, args []string) (code int, done bool) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	// Commands take their options anywhere; "--" ends them.
	fs.SetInterspersed(true)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(e.stdout, usage)
			return exitOK, true
		}
		errorf(e, "%s: %v", fs.Name(), err)
		hintf(e, `run "agw-proxy %s --help" for usage`, fs.Name())
		return exitUsage, true
	}
	return 0, false
}

// usageErrorf reports a usage problem of subcommand name and returns exitUsage.
func usageErrorf(e *env, name, format string, a ...any) int {
	errorf(e, "%s: %s", name, fmt.Sprintf(format, a...))
	hintf(e, `run "agw-proxy %s --help" for usage`, name)
	return exitUsage
}

// hinter is an error that carries advice, printed as hint lines after it.
type hinter interface{ Hints() []string }

// hintedError wraps an error with hints for the user.
type hintedError struct {
	err   error
	hints []string
}

func (h *hintedError) Error() string   { return h.err.Error() }
func (h *hintedError) Unwrap() error   { return h.err }
func (h *hintedError) Hints() []string { return h.hints }

// withHints attaches hints to err (which must not mention a secret).
func withHints(err error, hints ...string) error { return &hintedError{err: err, hints: hints} }

// maxReported bounds how many joined errors fail prints.
const maxReported = 10

// fail prints err (every error of an errors.Join, each followed by its hints)
// and returns the exit code for it: exitLoginNeeded when a login would fix
// it, else exitError.
func fail(e *env, err error) int {
	list := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	}
	for i, one := range list {
		if i == maxReported {
			errorf(e, "and %d more problems", len(list)-i)
			break
		}
		errorf(e, "%s", one)
		var h hinter
		var login *oauth.LoginError
		switch {
		case errors.As(one, &h):
			for _, s := range h.Hints() {
				hintf(e, "%s", s)
			}
		case errors.As(one, &login):
			hintf(e, "run %q", loginHint(login))
		}
	}
	if isLoginNeeded(err) {
		return exitLoginNeeded
	}
	return exitError
}

// loginHint returns the command that logs in again after a *oauth.LoginError
// (the oauth package names no command).
func loginHint(err *oauth.LoginError) string {
	if err.Profile == "" || err.Profile == defaultProfile {
		return "agw-proxy login"
	}
	return "agw-proxy login --profile " + shellQuote(err.Profile)
}

// errorf prints "agw-proxy: error: ..." to stderr. Never put a secret in it.
// String and error arguments are escaped (printable): they may carry text
// from the Gateway, Cognito or a config file.
func errorf(e *env, format string, a ...any) {
	writef(e.stderr, "agw-proxy: error: "+format+"\n", a...)
}

// hintf prints "agw-proxy: hint: ..." to stderr, escaped like errorf.
func hintf(e *env, format string, a ...any) {
	writef(e.stderr, "agw-proxy: hint: "+format+"\n", a...)
}

// isLoginNeeded reports whether err asks the user to log in (exit code 4).
func isLoginNeeded(err error) bool { return errors.Is(err, tokenstore.ErrLoginNeeded) }
