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

	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/internal/textdist"
	"github.com/agw-proxy/agw-proxy/oauth"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// Exit codes, part of the command-line contract. A command that a signal
// or Ctrl-C at a prompt interrupts exits 128 + the signal's number, as a
// shell reports it: 130 for SIGINT, 143 for SIGTERM (see interrupted).
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitLoginNeeded = 4
)

func main() {
	os.Exit(start(newEnv()))
}

// start runs the command line of this process in e until it ends or a
// SIGINT or SIGTERM arrives, and returns the exit code.
//
// The signal handlers are installed off the main goroutine. Asking the
// runtime for signals takes about 0.3 ms of an MCP client's wait for serve's
// answer to initialize, over a tenth of it: the runtime starts a thread for
// signals and hands each one to it. So serve starts at once (its answer
// comes about 5% sooner), and a SIGINT or SIGTERM in its first fraction of a
// millisecond ends it at once, as it does during the runtime's own start.
// Every other command starts once they are in.
//
// A write to a closed stdout or stderr must fail (and serve end), not kill
// the process: asking for SIGPIPE does that, but serve writes on copies of
// the two instead (serveStdio), which need no signal.
func start(e *env) int {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "serve" {
		s, closeStdio, ok := serveStdio(e)
		defer closeStdio()
		ctx, stop, ready := interruptContext(context.Background(), !ok)
		defer stop()
		if !ok {
			<-ready
		}
		return run(ctx, args, s)
	}
	ctx, stop, ready := interruptContext(context.Background(), true)
	defer stop()
	<-ready
	return run(ctx, args, e)
}

// interrupted is why a command stopped early: a SIGINT or SIGTERM (the cause
// of the command's context, see interruptContext), or Ctrl-C at a prompt
// (readSecret). It is context.Canceled to errors.Is, like any cancellation;
// fail prints it as one short line and exits 128 + sig.
type interrupted struct{ sig syscall.Signal }

func (x *interrupted) Error() string { return "interrupted" }

func (x *interrupted) Is(target error) bool { return target == context.Canceled }

// exitCode is what a shell reports for a process that sig ended: 130 for
// SIGINT, 143 for SIGTERM.
func (x *interrupted) exitCode() int { return 128 + int(x.sig) }

// interruptContext returns a context that the first SIGINT or SIGTERM
// cancels, with an *interrupted naming it as the cause (context.Cause). A
// second signal then ends the process at once, the default action: a wait
// that ignores the context cannot keep a user who presses Ctrl-C twice.
// With sigpipe it also asks for SIGPIPE, so that a write to a closed stdout
// or stderr fails instead of ending the process.
//
// The handlers are installed on a goroutine (see start); ready is closed
// once they are in. stop undoes it.
func interruptContext(parent context.Context, sigpipe bool) (ctx context.Context, stop func(), ready <-chan struct{}) {
	ctx, cancel := context.WithCancelCause(parent)
	in := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if sigpipe {
			signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
		}
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(ch)
		close(in)
		select {
		case s := <-ch:
			sig, _ := s.(syscall.Signal)
			cancel(&interrupted{sig: sig})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		cancel(nil)
		<-done
	}, in
}

// asInterrupted returns the signal that interrupted ctx when err came after
// it, else err: whatever a command failed with once the user pressed Ctrl-C
// (a canceled request, a report of unfinished checks), the interruption is
// the news.
func asInterrupted(ctx context.Context, err error) error {
	var x *interrupted
	if err != nil && errors.As(context.Cause(ctx), &x) {
		return x
	}
	return err
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
	// userCacheDir, if not nil, replaces the tool cache's folder
	// (toolcache.Dir). Use e.toolCacheDir().
	userCacheDir func() (string, error)
	// testKeychain, when not nil, may replace the OS keychain: it returns
	// the store to use, or nil for the OS keychain. Only this package's
	// tests (secrets_test.go) and the demo (its in-memory store, for the
	// login of its oauth rule) set it, so a released binary's commands
	// always use the OS keychain and no environment variable can point it
	// at a file.
	testKeychain func(getenv func(string) string) tokenstore.Secrets
	// profile is the profile the command resolved (e.resolve), for the
	// advice in its errors; nil before.
	profile *profile.Profile
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

// resolve resolves the profile that pf and the environment select, checked
// by its auth method.
func (e *env) resolve(pf *profile.Flags) (*profile.Profile, error) {
	p, err := pf.Resolve(profile.Env{Getenv: e.getenv, ConfigDir: e.configDir}, authTypes())
	if err == nil {
		e.profile = p
	}
	return p, err
}

// command is one subcommand: it parses its own flags and returns an error,
// which run prints and maps to the exit code (exitCode).
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// commands lists the registered subcommands. Each lives in a file of its own
// and registers itself from init, so the order here is file order; help
// sorts them by commandOrder.
var commands []command

func register(c command) { commands = append(commands, c) }

// commandOrder is the order help lists commands in: the everyday ones first.
// Commands not named here follow, in registration order.
var commandOrder = []string{"serve", "init", "login", "logout", "status", "doctor", "mcp-config", "demo", "version"}

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

Examples:
    Try the whole flow against the built-in emulator, no AWS needed:
    $ agw-proxy demo

    First run: log in to the Gateway (profile "default" of the config file),
    store a secret that an inject rule fills, install the client's entry,
    then check:
    $ agw-proxy login
    $ agw-proxy login asana
    $ agw-proxy mcp-config --client amazonq --write
    $ agw-proxy status

Environment:
    AGW_PROXY_CONFIG         Config file (default <user config dir>/agw-proxy/config.yaml)
    AGW_PROXY_PROFILE        Profile to use (default "default")
    AGW_PROXY_CLIENT_SECRET  The Gateway's client secret, instead of the keychain
    AGW_PROXY_SECRET_<NAME>  Secret NAME (e.g. AGW_PROXY_SECRET_ASANA), instead of
                             the keychain; for CI and containers
    HTTPS_PROXY, NO_PROXY    Proxy for the Gateway and Cognito, and the hosts
                             that bypass it

Exit status:
    0    success
    1    an error
    2    a usage error: unknown command, flag or flag value
    4    a login is needed: a secret is missing or was rejected
    130  interrupted (Ctrl-C, SIGINT)
    143  terminated (SIGTERM)
    serve and demo end with 0 on SIGINT or SIGTERM: that is how they stop.
`

func printUsage(w io.Writer) {
	var list string
	for _, c := range orderedCommands() {
		if c.summary == "" {
			continue // run by other programs only (mcpb-serve)
		}
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
		// "agw-proxy help serve" is "agw-proxy serve --help"; "help nosuch"
		// is the usage error of "agw-proxy nosuch".
		if len(args) == 1 || args[1] == "-h" || args[1] == "--help" {
			printUsage(e.stdout)
			return exitOK
		}
		if _, ok := lookupCommand(args[1]); !ok {
			return unknownCommand(e, args[1])
		}
		args = []string{args[1], "--help"}
	case "--version", "-v":
		// -v is --version, not verbose: no command has a verbose mode
		// (serve has --log-level).
		args = []string{"version"}
	}
	if c, ok := lookupCommand(args[0]); ok {
		err := c.run(ctx, e, args[1:])
		return fail(e, usageAtFlag(c.name, asInterrupted(ctx, err)))
	}
	return unknownCommand(e, args[0])
}

// unknownCommand reports an unknown command name, with the nearest command
// when one is close: a usage error.
func unknownCommand(e *env, name string) int {
	errorf(e, "unknown command %q", name)
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
	}
	if s := textdist.Nearest(name, names); s != "" && !strings.HasPrefix(name, "-") {
		hintf(e, "did you mean %q?", "agw-proxy "+s)
	}
	hintf(e, `run "agw-proxy --help" for the list of commands`)
	return exitUsage
}

// usageAtFlag makes err a usage error of command name (exit 2, with the hint
// to read its help) when every problem in it is a flag value that cannot be
// used, or an environment variable that stands for a flag: a
// *profile.Error located at "--FLAG" or "$VAR". A problem in the config
// file stays an error (exit 1). err is returned as it is otherwise.
func usageAtFlag(name string, err error) error {
	if err == nil || errors.As(err, new(*codeError)) || errors.As(err, new(*interrupted)) {
		return err
	}
	list := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = slices.Clone(j.Unwrap())
	}
	for _, one := range list {
		if !atFlag(one) {
			return err
		}
	}
	last := list[len(list)-1]
	var hints []string
	if h := hinter(nil); errors.As(last, &h) {
		hints = h.Hints()
	}
	list[len(list)-1] = withHints(last, append(slices.Clone(hints), fmt.Sprintf(`run "agw-proxy %s --help" for usage`, name))...)
	return usageError(errors.Join(list...))
}

// atFlag reports whether err is a *profile.Error located at a flag or an
// environment variable: its text starts with the location ("--inject: ...",
// "$AGW_PROXY_PROFILE: ..."), where a config file's problem starts with the
// file's path.
func atFlag(err error) bool {
	pe, ok := errors.AsType[*profile.Error](err)
	if !ok {
		return false
	}
	s := pe.Error()
	return strings.HasPrefix(s, "--") || strings.HasPrefix(s, "$")
}

// parseFlags parses a subcommand's args into fs. done reports that the
// command must stop now, returning err: nil after printing usage to stdout
// for -h/--help, or a usage error for a bad flag.
func parseFlags(e *env, fs *pflag.FlagSet, usage string, args []string) (done bool, err error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	// Commands take their options anywhere; "--" ends them.
	fs.SetInterspersed(true)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(e.stdout, usage)
			return true, nil
		}
		return true, usageErrorf(fs.Name(), "%v", err)
	}
	return false, nil
}

// codeError is an error with its own exit code. err may be nil: the command
// has printed its report (status, doctor) and only the code is left.
type codeError struct {
	code int
	err  error
}

func (x *codeError) Error() string {
	if x.err == nil {
		return fmt.Sprintf("exit status %d", x.code)
	}
	return x.err.Error()
}

func (x *codeError) Unwrap() error { return x.err }

// usageError is err as a usage problem: exit code 2.
func usageError(err error) error { return &codeError{code: exitUsage, err: err} }

// usageErrorf is a usage problem of subcommand name, with the hint to read
// its help.
func usageErrorf(name, format string, a ...any) error {
	return usageError(withHints(fmt.Errorf("%s: %s", name, fmt.Sprintf(format, a...)),
		fmt.Sprintf(`run "agw-proxy %s --help" for usage`, name)))
}

// reported is the end of a command that printed its own report of problems:
// the exit code for them (see problems.exitCode).
func reported(code int) error {
	if code == exitOK {
		return nil
	}
	return &codeError{code: code}
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
// and returns the exit code for it: 128 + the signal for an *interrupted
// (one short line, nothing else), the code of a codeError, else
// exitLoginNeeded when a login would fix every one of them, else exitError.
// It is the one place that turns a command's error into an exit code.
func fail(e *env, err error) int {
	if err == nil {
		return exitOK
	}
	if x, ok := errors.AsType[*interrupted](err); ok {
		// The user asked for it: no error, no hints.
		fmt.Fprintln(e.stderr, "agw-proxy: interrupted")
		return x.exitCode()
	}
	code := -1
	var x *codeError
	if errors.As(err, &x) {
		code = x.code
		if err = x.err; err == nil {
			return code
		}
	}
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
			hintf(e, "run %q", e.loginHint(login))
		}
	}
	if code >= 0 {
		return code
	}
	var probs problems
	for _, one := range list {
		probs.add(isLoginNeeded(one))
	}
	return probs.exitCode()
}

// problems counts what went wrong in a command, for its exit code.
type problems struct {
	login int // problems that "agw-proxy login" fixes
	other int
}

// add counts a problem; loginFixes says that a login is all it takes.
func (p *problems) add(loginFixes bool) {
	if loginFixes {
		p.login++
	} else {
		p.other++
	}
}

// exitCode is the exit status for the problems: 0 for none, 4 when a login
// fixes every one of them, else 1. The rule for status, doctor and every
// command's errors.
func (p problems) exitCode() int {
	switch {
	case p.other > 0:
		return exitError
	case p.login > 0:
		return exitLoginNeeded
	}
	return exitOK
}

// loginHint returns the command that logs in again after a *oauth.LoginError
// (the oauth package names no command): the exact command of the profile
// the command resolved, with every option that reaches it.
func (e *env) loginHint(err *oauth.LoginError) string {
	if p := e.profile; p != nil && p.Name == err.Profile {
		return p.Command("login", "")
	}
	if err.Profile == "" || err.Profile == profile.DefaultName {
		return "agw-proxy login"
	}
	return "agw-proxy login --profile " + profile.ShellQuote(err.Profile)
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
