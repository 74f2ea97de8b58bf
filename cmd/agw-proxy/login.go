package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/internal/textdist"
	"github.com/agw-proxy/agw-proxy/secretsource"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

func init() {
	register(command{name: "login", summary: "Store a secret, or log in to the Gateway, in the OS keychain", run: runLogin})
}

// loginFlags are the profile flags login takes: no timeouts, which it
// does not use.
const loginFlags = profile.SelectionFlags | profile.GatewayFlags | profile.InjectFlags

func loginUsage() string {
	return `Usage:
    agw-proxy login SECRET [options]
    agw-proxy login [options]
    agw-proxy login TARGET --consent [--tool TOOL] [options]

With SECRET (e.g. asana), store the token that an inject rule fills into tool
calls. Without it, log in to the Gateway itself:
  - auth type client_credentials: store the Cognito app client secret, then
    fetch an access token to prove it works;
  - auth type authorization_code: sign in through the Cognito hosted UI in the
    browser (PKCE), store the refresh token, then fetch an access token.

When SECRET's inject rule has source oauth, log in to that API instead: sign
in through its OAuth authorization page in the browser (PKCE, on the rule's
loopback redirect_url) and store only the refresh token; serve mints the
access tokens. A secret with source command is not stored.

With TARGET --consent, consent to a target of the Gateway whose outbound auth
is OAuth held by the Gateway (3LO, AgentCore Identity) before any client calls
it: agw-proxy calls TOOL, the Gateway asks for consent, the browser opens on
its consent URL, and the call is repeated until the consent went through (at
most timeouts.consent). TOOL must only read: once you have consented, the call
reaches the target's API. It is --tool, or the target's entry of consent_tools.

A secret is read with a hidden prompt on a terminal, otherwise as one line
from stdin; never from an argument or a flag. It is stored in the OS keychain
(service agw-proxy, account PROFILE:SECRET): the macOS Keychain, the Windows
Credential Manager, or the Secret Service (gnome-keyring, KWallet) on Linux.

Options:
    --force                Store SECRET even if no inject rule of the profile uses it
    --no-browser           Print the login URL instead of opening a browser
                           (authorization_code, and --consent)
    --consent              Consent to the Gateway-held OAuth of TARGET
    --tool TOOL            The read-only tool of TARGET that --consent calls
    --arguments JSON       Its arguments (default {})
    --reconsent            Consent again: the Gateway forgets your token first
                           (forceAuthentication), e.g. to use another account
    --client-secret        With a SECRET whose source is oauth: read the OAuth
                           app's client secret (a confidential app; a public app
                           has none) and store it once the login took it
    -h, --help             Show this help

` + profile.FlagsUsage(loginFlags) + `
Examples:
    Store the Asana token (hidden prompt):
    $ agw-proxy login asana

    The same from a script or a password manager:
    $ printf %s "$ASANA_TOKEN" | agw-proxy login asana

    Log in to the Gateway of profile work (client secret, or the browser):
    $ agw-proxy login --profile work

    Consent to the Asana target held by the Gateway, ahead of time:
    $ agw-proxy login Asana3LO --consent --tool Asana3LO___getMe

    Browser login on a remote machine (open the printed URL yourself; the
    redirect URL's port must reach this machine, e.g. through ssh -L):
    $ agw-proxy login --no-browser
`
}

// verifyTimeout bounds the token fetch that proves a new login works.
const verifyTimeout = 60 * time.Second

func runLogin(ctx context.Context, e *env, args []string) error {
	fs := pflag.NewFlagSet("login", pflag.ContinueOnError)
	pf := profile.AddFlags(fs, loginFlags)
	force := fs.Bool("force", false, "Store SECRET even if no rule uses it")
	noBrowser := fs.Bool("no-browser", false, "Do not open a browser")
	consent := fs.Bool("consent", false, "Consent to a Gateway-held OAuth target")
	tool := fs.String("tool", "", "The read-only tool --consent calls")
	arguments := fs.String("arguments", "", "The JSON arguments of --tool")
	reconsent := fs.Bool("reconsent", false, "Consent again (forceAuthentication)")
	clientSecret := fs.Bool("client-secret", false, "Store the OAuth app's client secret too (source oauth)")
	if done, err := parseFlags(e, fs, loginUsage(), args); done {
		return err
	}
	if *consent || *reconsent {
		if fs.NArg() != 1 || *force {
			return usageErrorf("login", "--consent takes one TARGET (the Gateway target's name) and no --force")
		}
		p, err := e.resolve(pf)
		if err != nil {
			return err
		}
		return loginConsent(ctx, e, p, fs.Arg(0), *tool, *arguments, *reconsent, *noBrowser)
	}
	if *tool != "" || *arguments != "" {
		return usageErrorf("login", "--tool and --arguments apply only to --consent")
	}
	if fs.NArg() > 1 {
		// Never echo the arguments: one may be a token typed by mistake.
		return usageErrorf("login", "takes at most one SECRET name, got %d arguments", fs.NArg())
	}
	p, err := e.resolve(pf)
	if err != nil {
		return err
	}
	if fs.NArg() == 1 {
		if r := p.RuleOf(fs.Arg(0)); r != nil && checkSecretArg("login", fs.Arg(0)) == nil {
			switch r.Source {
			case profile.SourceOAuth:
				open := openBrowser
				if *noBrowser {
					open = nil
				}
				return loginRuleOAuth(ctx, e, p, *r, open, *clientSecret)
			case profile.SourceCommand:
				return usageError(withHints(fmt.Errorf("secret %q of profile %q comes from its command (%s): there is nothing to store", fs.Arg(0), p.Name, p.Origin(fmt.Sprintf("inject[%d].secret_command", slices.IndexFunc(p.Inject, func(q profile.InjectRule) bool { return q.Secret == fs.Arg(0) })))),
					fmt.Sprintf("run %q to check that the command works", p.Command("doctor", ""))))
			}
		}
		if *clientSecret {
			return usageErrorf("login", "--client-secret applies only to a secret with source oauth")
		}
		return loginSecret(ctx, e, p, fs.Arg(0), *force)
	}
	if *force {
		return usageErrorf("login", "--force applies only to login SECRET")
	}
	return methodOf(p).login(ctx, e, p, *noBrowser)
}

// checkSecretArg validates a SECRET argument of login or logout without
// echoing it: a user may have typed the token itself.
func checkSecretArg(cmd, name string) error {
	if profile.ReservedSecret(name) {
		return usageErrorf(cmd, "%q is the Gateway's own credential; run %q without a SECRET for it", name, "agw-proxy "+cmd)
	}
	if profile.ValidSecretName(name) {
		return nil
	}
	var hints []string
	if cmd == "login" {
		hints = []string{
			"the value itself is read from a hidden prompt or stdin, never from an argument: " + `printf %s "$TOKEN" | agw-proxy login asana`,
			"if you typed a token on the command line, it is in your shell history now: consider revoking it",
		}
	}
	return usageError(withHints(fmt.Errorf("%s: SECRET must name a secret (lowercase letters, digits, '-' and '_', at most 64), e.g. asana", cmd), hints...))
}

// loginSecret stores an injected secret.
func loginSecret(ctx context.Context, e *env, p *profile.Profile, name string, force bool) error {
	if err := checkSecretArg("login", name); err != nil {
		return err
	}
	used := p.SecretNames()
	if len(used) > 0 && !slices.Contains(used, name) && !force {
		var hints []string
		if s := textdist.Nearest(name, used); s != "" {
			hints = append(hints, fmt.Sprintf("did you mean %q?", p.Command("login", s)))
		}
		hints = append(hints, "the profile's inject rules use: "+strings.Join(used, ", "), "to store it anyway, add --force")
		return usageError(withHints(fmt.Errorf("no inject rule of profile %q uses a secret named %q", p.Name, name), hints...))
	}

	v, err := readSecret(ctx, e, fmt.Sprintf("Token for %q (input hidden): ", name))
	if err != nil {
		return inputError(p, name, err, stdinIsTerminal(e))
	}
	all, some := addsBearer(p, name)
	stripped := false
	if rest, ok := cutBearer(v); ok && all {
		if rest == "" {
			return inputError(p, name, errEmptySecret, stdinIsTerminal(e))
		}
		v, stripped = rest, true
	}
	if len(v) < tokenstore.MinSecretSize {
		return inputError(p, name, errTooShort, stdinIsTerminal(e))
	}

	if err := e.keychain().Set(ctx, p.Name, name, v); err != nil {
		return keychainError(err)
	}
	writef(e.stdout, "Stored %q for profile %q in the keychain (%s).\n", name, p.Name, account(p.Name, name))
	if stripped {
		writef(e.stdout, "Removed the \"Bearer \" prefix from the input: the inject rule adds it itself.\n")
	} else if _, ok := cutBearer(v); ok {
		switch {
		case some:
			writef(e.stdout, "Note: the value starts with \"Bearer \" and some inject rules add that prefix too; check their format.\n")
		case len(used) == 0:
			writef(e.stdout, "Note: the value starts with \"Bearer \"; an inject rule with the default format \"Bearer {secret}\" adds it again.\n")
		}
	}
	if len(used) == 0 {
		writef(e.stdout, "Profile %q has no inject rules; serve uses this secret with --inject ARG=%s --inject-tools GLOB (or an inject rule in the config file).\n", p.Name, name)
	} else if !slices.Contains(used, name) {
		writef(e.stdout, "No inject rule of profile %q uses it yet.\n", p.Name)
	}
	noteEnvOverride(e, name)
	return nil
}

// errTooShort refuses a secret under tokenstore.MinSecretSize, which serve
// could not scrub from results without mangling them; it never quotes the
// input.
var errTooShort = fmt.Errorf("input is shorter than %d bytes: a secret that short could not be scrubbed from results without mangling them; nothing stored", tokenstore.MinSecretSize)

// inputError reports unusable input for a secret (name "" for the Gateway
// credential); terminal says it was read from a prompt.
func inputError(p *profile.Profile, name string, err error, terminal bool) error {
	cmd := p.Command("login", name)
	switch {
	case errors.Is(err, errTooShort):
		return withHints(err, "check that you pasted the whole secret: "+`printf %s "$TOKEN" | `+cmd)
	case errors.Is(err, errEmptySecret) && !terminal:
		return withHints(err, "stdin is not a terminal, so the secret is read from it: "+`printf %s "$TOKEN" | `+cmd)
	case errors.Is(err, errEmptySecret):
		return withHints(err, "paste the token at the prompt, then press Enter")
	}
	return withHints(err, "paste only the token: "+`printf %s "$TOKEN" | `+cmd)
}

// noteEnvOverride tells the user when the environment hides what was stored.
func noteEnvOverride(e *env, name string) {
	if v := strings.TrimSpace(e.getenv(tokenstore.EnvVar(name))); v != "" {
		writef(e.stdout, "Note: %s is set in this environment and wins over the keychain; unset it to use the stored value.\n", tokenstore.EnvVar(name))
	}
}

// addsBearer reports whether all (and whether some) of the inject rules that
// use name put "Bearer " before the secret.
func addsBearer(p *profile.Profile, name string) (all, some bool) {
	n, bearer := 0, 0
	for _, r := range p.Inject {
		if r.Secret != name {
			continue
		}
		n++
		if strings.Contains(strings.ToLower(r.Format), "bearer {secret}") {
			bearer++
		}
	}
	return n > 0 && bearer == n, bearer > 0
}

// cutBearer removes a leading "Bearer " (any case) from v.
func cutBearer(v tokenstore.Secret) (tokenstore.Secret, bool) {
	s := string(v)
	if strings.EqualFold(s, "bearer") { // "Bearer " with its space trimmed
		return "", true
	}
	if len(s) >= 7 && strings.EqualFold(s[:7], "bearer ") {
		return tokenstore.Secret(strings.TrimSpace(s[7:])), true
	}
	return v, false
}

// describeExpiry says when a token expires: local time and how long from now.
func describeExpiry(t time.Time) string {
	if t.IsZero() {
		return "an unknown time (no expires_in)"
	}
	return fmt.Sprintf("%s (in %s)", t.Local().Format("2006-01-02 15:04:05 MST"), time.Until(t).Round(time.Second))
}

// browserOpener is the program, with its leading arguments, that opens a
// URL in the user's browser; openBrowser appends the URL. A variable for
// tests.
var browserOpener = defaultBrowserOpener(runtime.GOOS)

func defaultBrowserOpener(goos string) []string {
	switch goos {
	case "darwin":
		return []string{"open"}
	case "windows":
		return []string{"rundll32", "url.dll,FileProtocolHandler"}
	}
	return []string{"xdg-open"}
}

// openBrowser opens url in the user's browser without waiting for it. url
// is the login's one-time URL (see oauth.LoginConfig.OpenURL), since
// any local process can read the opener's arguments. The opener, and the
// browser it may start, get this process's environment without the
// AGW_PROXY_ variables: the secrets' environment override stays here.
func openBrowser(url string) error {
	cmd := exec.Command(browserOpener[0], append(slices.Clone(browserOpener[1:]), url)...)
	cmd.Env = secretsource.ChildEnv(os.Environ()) // no AGW_PROXY_* variable
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}
