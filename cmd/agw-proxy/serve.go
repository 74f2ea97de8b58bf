package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/pflag"

	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/proxy"
)

func init() {
	register(command{name: "serve", summary: "Run the stdio MCP server a desktop MCP client launches", run: runServe})
}

var serveUsage = `Usage:
    agw-proxy serve [options]

Run the stdio MCP server that a desktop MCP client (Amazon Q, Kiro, Claude
Desktop, Cursor, VS Code) launches. It connects to the Gateway, gets and
refreshes its Cognito tokens, hides each injected argument from the tools the
model sees and fills it from the keychain on every call.
stdout carries MCP only; logs go to stderr or --log-file.

Options:
` + logFlagsUsage + `    -h, --help             Show this help

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

func runServe(ctx context.Context, e *env, args []string) error {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	pf := profile.AddFlags(fs, profile.AllFlags)
	lf := addLogFlags(fs)
	if done, err := parseFlags(e, fs, serveUsage, args); done {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("serve", "unexpected argument %q", fs.Arg(0))
	}
	level, err := lf.level()
	if err != nil {
		return usageErrorf("serve", "%v", err)
	}
	p, err := e.resolve(pf)
	if err == nil {
		err = p.RequireGateway()
	}
	if err != nil {
		return err
	}

	// Every secret in use is scrubbed from what reaches the client and the
	// logs: injected secrets (added by the proxy as it reads them), the
	// Gateway credential (added as tokenstore reads it) and access tokens.
	scrub := proxy.NewScrubber()
	logger, closeLog, err := lf.open(e, scrub, level)
	if err != nil {
		return err
	}
	defer closeLog()

	client, err := httpClient(p)
	if err != nil {
		return err
	}
	secrets := &scrubbedSecrets{
		Secrets: e.secretStore(),
		scrub:   scrub,
	}
	opts := proxyOptions(p, secrets, client, scrub)
	opts.Logger = logger
	px, err := proxy.New(opts)
	if err != nil {
		return err
	}
	logger.Info("serving", "profile", p.Name, "config", p.ConfigPath, "gateway", p.GatewayURL,
		"auth", p.Auth.Type, "rules", len(p.Inject))
	if err := px.Run(ctx, e.stdin, e.stdout); err != nil && ctx.Err() == nil {
		logger.Error("stopped", "err", err)
		return err
	}
	logger.Debug("stopped")
	return nil
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
