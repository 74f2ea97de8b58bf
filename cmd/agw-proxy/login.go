package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/agw-proxy/agw-proxy/internal/httpguard"
	"github.com/agw-proxy/agw-proxy/oauth"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

func init() {
	register(command{name: "login", summary: "Store a secret, or log in to the Gateway, in the OS keychain", run: runLogin})
}

const loginUsage = `Usage:
    agw-proxy login SECRET [options]
    agw-proxy login [options]

With SECRET (e.g. asana), store the token that an inject rule fills into tool
calls. Without it, log in to the Gateway itself:
  - auth type client_credentials: store the Cognito app client secret, then
    fetch an access token to prove it works;
  - auth type authorization_code: sign in through the Cognito hosted UI in the
    browser (PKCE), store the refresh token, then fetch an access token.

A secret is read with a hidden prompt on a terminal, otherwise as one line
from stdin; never from an argument or a flag. It is stored in the OS keychain
(service agw-proxy, account PROFILE:SECRET): the macOS Keychain, the Windows
Credential Manager, or the Secret Service (gnome-keyring, KWallet) on Linux.

Options:
    --force                Store SECRET even if no inject rule of the profile uses it
    --no-browser           Print the login URL instead of opening a browser
                           (authorization_code)
    -h, --help             Show this help

` + profileFlagsUsage + `
Examples:
    Store the Asana token (hidden prompt):
    $ agw-proxy login asana

    The same from a script or a password manager:
    $ printf %s "$ASANA_TOKEN" | agw-proxy login asana

    Log in to the Gateway of profile work (client secret, or the browser):
    $ agw-proxy login --profile work

    Browser login on a remote machine (open the printed URL yourself; the
    redirect URL's port must reach this machine, e.g. through ssh -L):
    $ agw-proxy login --no-browser
`

// verifyTimeout bounds the token fetch that proves a new login works.
const verifyTimeout = 60 * time.Second

func runLogin(ctx context.Context, e *env, args []string) int {
	fs := pflag.NewFlagSet("login", pflag.ContinueOnError)
	pf := addProfileFlags(fs)
	force := fs.Bool("force", false, "Store SECRET even if no rule uses it")
	noBrowser := fs.Bool("no-browser", false, "Do not open a browser")
	if code, done := parseFlags(e, fs, loginUsage, args); done {
		return code
	}
	if fs.NArg() > 1 {
		// Never echo the arguments: one may be a token typed by mistake.
		return usageErrorf(e, "login", "takes at most one SECRET name, got %d arguments", fs.NArg())
	}
	p, err := pf.resolve(e)
	if err != nil {
		return fail(e, err)
	}
	if fs.NArg() == 1 {
		return loginSecret(ctx, e, p, pf, fs.Arg(0), *force)
	}
	if *force {
		return usageErrorf(e, "login", "--force applies only to login SECRET")
	}
	switch p.auth.typ {
	case authClientCredentials:
		return loginClientCredentials(ctx, e, p, pf)
	case authAuthorizationCode:
		return loginBrowser(ctx, e, p, pf, *noBrowser)
	}
	errorf(e, "profile %q has auth type none: there is no Gateway login", p.name)
	if names := p.secretNames(); len(names) > 0 {
		hintf(e, "to store a secret for an inject rule, run %q", exactCommand(p, pf, "login", names[0]))
	} else {
		hintf(e, `to store a secret, run "agw-proxy login NAME" (e.g. agw-proxy login asana)`)
	}
	hintf(e, "for a Gateway login set auth.type (or --auth-type) to client_credentials or authorization_code")
	return exitError
}

// checkSecretArg validates a SECRET argument of login or logout without
// echoing it: a user may have typed the token itself.
func checkSecretArg(e *env, cmd, name string) int {
	if name == clientSecretName || name == refreshTokenName {
		return usageErrorf(e, cmd, "%q is the Gateway's own credential; run %q without a SECRET for it", name, "agw-proxy "+cmd)
	}
	if validSecretName(name) {
		return 0
	}
	errorf(e, "%s: SECRET must name a secret (lowercase letters, digits, '-' and '_', at most 64), e.g. asana", cmd)
	if cmd == "login" {
		hintf(e, "the value itself is read from a hidden prompt or stdin, never from an argument: "+
			`printf %%s "$TOKEN" | agw-proxy login asana`)
		hintf(e, "if you typed a token on the command line, it is in your shell history now: consider revoking it")
	}
	return exitUsage
}

// loginSecret stores an injected secret.
func loginSecret(ctx context.Context, e *env, p *profile, pf *profileFlags, name string, force bool) int {
	if code := checkSecretArg(e, "login", name); code != 0 {
		return code
	}
	used := p.secretNames()
	if len(used) > 0 && !slices.Contains(used, name) && !force {
		errorf(e, "no inject rule of profile %q uses a secret named %q", p.name, name)
		if s := nearest(name, used); s != "" {
			hintf(e, "did you mean %q?", exactCommand(p, pf, "login", s))
		}
		hintf(e, "the profile's inject rules use: %s", strings.Join(used, ", "))
		hintf(e, "to store it anyway, add --force")
		return exitUsage
	}

	v, err := readSecret(e, fmt.Sprintf("Token for %q (input hidden): ", name))
	if err != nil {
		return failInput(e, p, pf, name, err)
	}
	all, some := addsBearer(p, name)
	stripped := false
	if rest, ok := cutBearer(v); ok && all {
		if rest == "" {
			return failInput(e, p, pf, name, errEmptySecret)
		}
		v, stripped = rest, true
	}

	if err := e.keychain().Set(ctx, p.name, name, v); err != nil {
		return fail(e, keychainError(err))
	}
	writef(e.stdout, "Stored %q for profile %q in the keychain (%s).\n", name, p.name, account(p.name, name))
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
		writef(e.stdout, "Profile %q has no inject rules; serve uses this secret with --inject ARG=%s --inject-tools GLOB (or an inject rule in the config file).\n", p.name, name)
	} else if !slices.Contains(used, name) {
		writef(e.stdout, "No inject rule of profile %q uses it yet.\n", p.name)
	}
	noteEnvOverride(e, name)
	return exitOK
}

// failInput reports unusable input for a secret.
func failInput(e *env, p *profile, pf *profileFlags, name string, err error) int {
	errorf(e, "%v", err)
	cmd := exactCommand(p, pf, "login", name)
	switch {
	case errors.Is(err, errEmptySecret) && !stdinIsTerminal(e):
		hintf(e, "stdin is not a terminal, so the secret is read from it: %s", `printf %s "$TOKEN" | `+cmd)
	case errors.Is(err, errEmptySecret):
		hintf(e, "paste the token at the prompt, then press Enter")
	default:
		hintf(e, "paste only the token: %s", `printf %s "$TOKEN" | `+cmd)
	}
	return exitError
}

// noteEnvOverride tells the user when the environment hides what was stored.
func noteEnvOverride(e *env, name string) {
	if v := strings.TrimSpace(e.getenv(tokenstore.EnvVar(name))); v != "" {
		writef(e.stdout, "Note: %s is set in this environment and wins over the keychain; unset it to use the stored value.\n", tokenstore.EnvVar(name))
	}
}

// addsBearer reports whether all (and whether some) of the inject rules that
// use name put "Bearer " before the secret.
func addsBearer(p *profile, name string) (all, some bool) {
	n, bearer := 0, 0
	for _, r := range p.inject {
		if r.secret != name {
			continue
		}
		n++
		if strings.Contains(strings.ToLower(r.format), "bearer {secret}") {
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

// exactCommand is the command line to run for sub (login, logout) with the
// same profile: --config/--profile as needed, and the profile flags this
// command was given, since a profile made of flags exists only in them.
func exactCommand(p *profile, pf *profileFlags, sub, arg string) string {
	parts := []string{p.command(sub, arg)}
	args := pf.args()
	for i := 0; i+1 < len(args); i += 2 {
		switch args[i] {
		case "--config", "--profile", "--call-timeout", "--connect-timeout":
			continue
		}
		parts = append(parts, args[i], shellQuote(args[i+1]))
	}
	return strings.Join(parts, " ")
}

// tokenURLFor returns the profile's token endpoint, from discovery when
// only a discovery URL is set.
func (p *profile) tokenURLFor(ctx context.Context, client *http.Client) (string, error) {
	if p.auth.tokenURL != "" {
		return p.auth.tokenURL, nil
	}
	u, _, err := p.endpoints(ctx, client)
	return u, err
}

// loginClientCredentials stores the app client secret once it has proved
// itself: a rejected secret is not stored, so a working one is not lost to
// a typo.
func loginClientCredentials(ctx context.Context, e *env, p *profile, pf *profileFlags) int {
	client, err := p.httpClient()
	if err != nil {
		return fail(e, err)
	}
	tokenURL, err := p.tokenURLFor(ctx, client)
	if err != nil {
		return fail(e, err)
	}
	v, err := readSecret(e, fmt.Sprintf("Client secret of Cognito app client %s (input hidden): ", p.auth.clientID))
	if err != nil {
		return failInput(e, p, pf, "", err)
	}

	candidate := tokenstore.NewMemory()
	if err := candidate.Set(ctx, p.name, clientSecretName, v); err != nil {
		return fail(e, keychainError(err))
	}
	vctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	tok, verr := p.newGatewayAuth(tokenURL, candidate, client).Token(vctx)
	switch {
	case errors.Is(verr, tokenstore.ErrLoginNeeded):
		errorf(e, "the token endpoint refused client ID %s with this client secret; nothing stored", p.auth.clientID)
		hintf(e, "copy the secret of app client %s again (Cognito console: User pool > App clients > Client secret)", p.auth.clientID)
		hintf(e, "check the client ID (%s)", p.origin("auth.client_id"))
		return exitError
	case errors.As(verr, new(*httpguard.RedirectError)):
		errorf(e, "%v; nothing stored", verr)
		hintf(e, "check auth.token_url (%s): it must be the token endpoint itself (Cognito's is https://DOMAIN.auth.REGION.amazoncognito.com/oauth2/token); a redirect of the token request is never followed", p.origin("auth.token_url"))
		return exitError
	case errors.Is(verr, oauth.ErrTokenRejected):
		errorf(e, "%v; nothing stored", verr)
		hintf(e, "check auth.scopes (%s) and that the app client allows the client_credentials grant", p.origin("auth.scopes"))
		return exitError
	}

	if err := e.keychain().Set(ctx, p.name, clientSecretName, v); err != nil {
		return fail(e, keychainError(err))
	}
	writef(e.stdout, "Stored the client secret for profile %q in the keychain (%s).\n", p.name, account(p.name, clientSecretName))
	noteEnvOverride(e, clientSecretName)
	if verr != nil {
		errorf(e, "stored, but could not check it: %v", verr)
		hintf(e, "the token endpoint (%s) did not answer; run %q later to check the login", tokenURL, p.command("status", ""))
		return exitError
	}
	writef(e.stdout, "Logged in: the Gateway access token is valid until %s.\n", describeExpiry(tok.Expiry))
	return exitOK
}

// loginBrowser runs the authorization-code login and stores the refresh
// token alone (the access token is short-lived and the keychain entry must
// stay small).
func loginBrowser(ctx context.Context, e *env, p *profile, pf *profileFlags, noBrowser bool) int {
	client, err := p.httpClient()
	if err != nil {
		return fail(e, err)
	}
	tokenURL, authorizeURL, err := p.endpoints(ctx, client)
	if err != nil {
		return fail(e, err)
	}
	if authorizeURL == "" {
		errorf(e, "no authorize URL for profile %q: the discovery document has no authorization_endpoint", p.name)
		hintf(e, "%s", p.missingHints("auth.authorize_url", "--authorize-url URL")[0])
		return exitError
	}
	open := openBrowser
	if noBrowser {
		open = nil
	}
	tok, err := oauth.LoginWithBrowser(ctx, oauth.LoginConfig{
		AuthorizeURL: authorizeURL,
		TokenURL:     tokenURL,
		ClientID:     p.auth.clientID,
		Scopes:       p.auth.scopes,
		RedirectURL:  p.auth.redirectURL,
		OpenURL:      open,
		Out:          e.stderr,
		HTTPClient:   client,
	})
	if err != nil {
		var hints []string
		if errors.Is(err, oauth.ErrLoginTimeout) {
			hints = append(hints, fmt.Sprintf("run %q again; with --no-browser, open the printed URL yourself", exactCommand(p, pf, "login", "")))
		}
		return fail(e, withHints(err, hints...))
	}
	if tok.RefreshToken == "" {
		errorf(e, "the token endpoint returned no refresh token, so the login cannot last")
		hintf(e, "enable refresh tokens on app client %s (Cognito: the ALLOW_REFRESH_TOKEN_AUTH flow)", p.auth.clientID)
		return exitError
	}
	store := e.keychain()
	if err := store.Set(ctx, p.name, refreshTokenName, tokenstore.Secret(tok.RefreshToken)); err != nil {
		return fail(e, keychainError(err))
	}
	writef(e.stdout, "Stored the refresh token for profile %q in the keychain (%s).\n", p.name, account(p.name, refreshTokenName))
	noteEnvOverride(e, refreshTokenName)

	// Prove the stored refresh token works, as serve will use it.
	vctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	access, err := p.newGatewayAuth(tokenURL, store, client).Token(vctx)
	if err != nil {
		errorf(e, "stored, but a token refresh with it failed: %v", err)
		hintf(e, "run %q to check the login again", p.command("status", ""))
		return exitError
	}
	writef(e.stdout, "Logged in: the Gateway access token is valid until %s.\n", describeExpiry(access.Expiry))
	return exitOK
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
	cmd.Env = openerEnv(os.Environ())
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}

// openerEnv returns environ without any AGW_PROXY_* variable (in any case:
// Windows' names are case-insensitive).
func openerEnv(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(strings.ToUpper(name), "AGW_PROXY_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}
