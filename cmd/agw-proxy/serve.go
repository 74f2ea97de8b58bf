package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/proxy"
)

func init() {
	register(command{name: "serve", summary: "Run the stdio MCP server a desktop MCP client launches", run: runServe})
}

func serveUsage() string {
	return `Usage:
    agw-proxy serve [options]

Run the stdio MCP server that a desktop MCP client (Amazon Q, Kiro, Claude
Desktop, Cursor, VS Code) launches. It connects to the Gateway, gets and
refreshes its Cognito tokens, hides each injected argument from the tools the
model sees and fills it from the keychain on every call.
stdout carries MCP only; logs go to stderr or --log-file.

Options:
` + logFlagsUsage + `    --no-browser           Print the consent URL of a Gateway-held OAuth target
                           (stderr and the log) instead of opening a browser
                           (also open_browser: false in the profile)
    -h, --help             Show this help

` + profile.FlagsUsage(profile.AllFlags) + `
Examples:
    Everything in a client's args, no config file:
    $ agw-proxy serve --gateway-url https://GATEWAY.gateway.bedrock-agentcore.us-east-1.amazonaws.com/mcp \
        --token-url https://DOMAIN.auth.us-east-1.amazoncognito.com/oauth2/token \
        --client-id ID --scope gw/read \
        --inject X-Asana-Token=asana --inject-tools 'AgentCoreGwyAPIGatewayTarget___*'

    A profile from the config file, with debug logs in a file:
    $ agw-proxy serve --profile work --log-level debug --log-file /tmp/agw-proxy.log

    Secrets are stored once with "agw-proxy login" (the Gateway's client
    secret) and "agw-proxy login asana"; in CI set AGW_PROXY_CLIENT_SECRET and
    AGW_PROXY_SECRET_ASANA instead.
`
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	pf := profile.AddFlags(fs, profile.AllFlags)
	lf := addLogFlags(fs)
	noBrowser := fs.Bool("no-browser", false, "Print a consent URL instead of opening a browser")
	if done, err := parseFlags(e, fs, serveUsage(), args); done {
		if err != nil {
			return cannotServe(ctx, e, err)
		}
		return nil
	}
	if fs.NArg() > 0 {
		return cannotServe(ctx, e, usageErrorf("serve", "unexpected argument %q", fs.Arg(0)))
	}
	level, err := lf.level()
	if err != nil {
		return cannotServe(ctx, e, usageErrorf("serve", "%v", err))
	}

	// Every secret in use is scrubbed from what reaches the client and the
	// logs: injected secrets (added by the proxy as it reads them), the
	// Gateway credential (added as tokenstore reads it) and access tokens.
	scrub := proxy.NewScrubber()
	logger, closeLog, err := lf.open(e, scrub, level)
	if err != nil {
		return cannotServe(ctx, e, err)
	}
	defer closeLog()

	px, p, err := newServeProxy(e, pf, scrub, logger, *noBrowser)
	if err != nil {
		if lf.file != "" {
			// Whoever reads the log file reads why serve did nothing.
			logger.Error("cannot serve", "err", err)
		}
		return cannotServe(ctx, e, err)
	}
	logger.Info("serving", "profile", p.Name, "config", p.ConfigPath, "gateway", p.GatewayURL,
		"auth", p.Auth.Type, "rules", len(p.Inject))
	stdin, restore := pollableStdin(e.stdin)
	defer restore()
	if err := px.Run(ctx, stdin, e.stdout); err != nil && ctx.Err() == nil {
		logger.Error("stopped", "err", err)
		return err
	}
	logger.Debug("stopped")
	return nil
}

// newServeProxy resolves the profile pf selects and makes its proxy.
func newServeProxy(e *env, pf *profile.Flags, scrub *proxy.Scrubber, logger *slog.Logger, noBrowser bool) (*proxy.Proxy, *profile.Profile, error) {
	p, err := e.resolve(pf)
	if err == nil {
		err = p.RequireGateway()
	}
	if err != nil {
		return nil, nil, err
	}
	client, err := httpClient(p)
	if err != nil {
		return nil, nil, err
	}
	secrets := &scrubbedSecrets{
		Secrets: e.secretStore(),
		scrub:   scrub,
	}
	opts := proxyOptions(e, p, secrets, client, scrub)
	opts.Secrets = secretSet(p, secrets, client, scrub.Add)
	opts.Logger = logger
	opts.ToolCache, opts.Profile, opts.Identity = e.toolCache(p), p.Name, cacheIdentity(p, e.getenv)
	consentOptions(&opts, e, p, noBrowser)
	px, err := proxy.New(opts)
	if err != nil {
		return nil, nil, err
	}
	return px, p, nil
}

// cannotServe reports err, which keeps serve from serving its profile (a
// usage error, a config error, a missing profile or gateway URL, a log file
// it may not use), and returns err's exit code.
//
// The report is the one every command prints on stderr ("agw-proxy: error:
// …", "agw-proxy: hint: …"), printed at once. But an MCP client launched
// serve, and most clients hide its stderr: one that only sees the process
// exit says "server disconnected". So serve goes on speaking MCP on stdin and
// stdout (proxy.ServeError): initialize succeeds and every tools/list and
// tools/call is answered with the same text, which the client shows. It ends
// when stdin does, as serve always does, with err's exit code (1, or 2 for a
// usage error: a client started with a mistyped flag shows it too).
//
// A person at a terminal is no MCP client: with stdin a terminal (or no
// stdin at all), cannotServe returns at once.
func cannotServe(ctx context.Context, e *env, err error) error {
	// fail renders err as it does for every command (escaped, with the
	// hints), into text; the caller's fail then has only the code left.
	var text bytes.Buffer
	report := *e
	report.stderr = &text
	code := fail(&report, usageAtFlag("serve", err))
	_, _ = e.stderr.Write(text.Bytes())
	if e.stdin == nil || e.stdout == nil || stdinIsTerminal(e) {
		return &codeError{code: code}
	}
	message := strings.TrimSuffix(text.String(), "\n")
	_ = proxy.ServeError(ctx, e.stdin, e.stdout, currentBuild().Version, message)
	return &codeError{code: code}
}

// logFlags are --log-level and --log-file.
type logFlags struct {
	levelName string
	file      string
}

// logFlagsUsage documents addLogFlags' flags.
const logFlagsUsage = `    --log-level LEVEL      debug, info, warn or error (default info)
    --log-file FILE        Append logs to FILE instead of stderr (created 0600;
                           not a symbolic link, nor a file others may write)
`

func addLogFlags(fs *pflag.FlagSet) *logFlags {
	f := &logFlags{}
	fs.StringVar(&f.levelName, "log-level", "info", "Log level")
	fs.StringVar(&f.file, "log-file", "", "Log file")
	return f
}

func (f *logFlags) level() (slog.Level, error) {
	switch f.levelName {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("--log-level: unknown level %q (want debug, info, warn or error)", f.levelName)
}

// open returns a text logger writing to --log-file or stderr, through scrub
// (see newLogger). Never stdout: in serve it carries MCP. The file is
// checked before use (openLogFile).
func (f *logFlags) open(e *env, scrub *proxy.Scrubber, level slog.Level) (*slog.Logger, func(), error) {
	w, closer := e.stderr, func() {}
	if f.file != "" {
		file, err := openLogFile(f.file, profile.ResolvePath("", f.file))
		if err != nil {
			return nil, nil, err
		}
		w, closer = file, func() { _ = file.Close() }
	}
	return newLogger(w, scrub, level).With("pid", os.Getpid()), closer, nil
}
