package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

func init() {
	register(command{name: "status", summary: "Show the profile and which secrets are stored (masked)", run: runStatus})
}

const statusUsage = `Usage:
    agw-proxy status [options]

Show the profile, its Gateway and auth type, and for every secret the profile
uses whether it is stored and where (keychain or environment). Values are
never shown. Unless --offline, a stored Gateway credential is checked by
fetching an access token, and the token's expiry is shown.

Exit status: 0 when serve has everything it needs, 4 when a login is needed
(the command to run is printed), 1 on any other problem.

Options:
    --offline              Do not contact the token endpoint
    -h, --help             Show this help

` + profileFlagsUsage + `
Examples:
    $ agw-proxy status
    $ agw-proxy status --profile work --offline
`

// statusCheckTimeout bounds the token fetch of status.
const statusCheckTimeout = 30 * time.Second

// problem kinds for the exit status of status.
type statusProblems struct {
	login, other int
}

func runStatus(ctx context.Context, e *env, args []string) int {
	fs := pflag.NewFlagSet("status", pflag.ContinueOnError)
	pf := addProfileFlags(fs)
	offline := fs.Bool("offline", false, "Do not contact the token endpoint")
	if code, done := parseFlags(e, fs, statusUsage, args); done {
		return code
	}
	if fs.NArg() > 0 {
		return usageErrorf(e, "status", "takes no arguments, got %d", fs.NArg())
	}
	p, err := pf.resolve(e)
	if err != nil {
		return fail(e, err)
	}

	var probs statusProblems
	// Problems are printed after the report, so collect them.
	var report []func()
	later := func(f func()) { report = append(report, f) }

	w := e.stdout
	from := "flags only, no config file"
	switch {
	case p.inFile:
		from = p.configPath
	case p.configPath != "":
		from = "flags only; not in " + p.configPath
	}
	writef(w, "Profile:  %s (%s)\n", p.name, from)
	gw := p.gatewayURL
	if gw == "" {
		gw = "not set"
		probs.other++
		later(func() { _ = fail(e, p.requireGateway()) })
	}
	writef(w, "Gateway:  %s\n", gw)
	auth := p.auth.typ
	if p.auth.typ != authNone {
		auth += ", client ID " + p.auth.clientID
	}
	writef(w, "Auth:     %s\n", auth)

	// Every secret the profile needs, the Gateway credential first.
	type entry struct {
		name, role string
	}
	var entries []entry
	if g := p.gatewaySecretName(); g != "" {
		entries = append(entries, entry{g, "Gateway credential"})
	}
	for _, name := range p.secretNames() {
		entries = append(entries, entry{name, "injected as " + p.injectArgs(name)})
	}
	store := e.secretStore()
	credStored := false
	var keychainDown error
	if len(entries) == 0 {
		writef(w, "Secrets:  none used by this profile\n")
	} else {
		writef(w, "Secrets:\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, en := range entries {
			state := ""
			if keychainDown != nil && strings.TrimSpace(e.getenv(tokenstore.EnvVar(en.name))) == "" {
				// One keychain failure (often a timeout) is enough: do not
				// wait for it again for every secret.
				state = "not checked (keychain unavailable)"
			} else {
				v, src, err := store.Lookup(ctx, p.name, en.name)
				switch {
				case err == nil:
					state = fmt.Sprintf("stored in %s, %d bytes", src, len(v))
					if en.name == p.gatewaySecretName() {
						credStored = true
					}
				case errors.Is(err, tokenstore.ErrNotFound):
					state = "missing"
					probs.login++
					name := en.name
					later(func() { reportMissing(e, p, pf, name) })
				default:
					state = "unknown: keychain error"
					probs.other++
					keychainDown = err
					later(func() { _ = fail(e, keychainError(err)) })
				}
			}
			writef(tw, "    %s\t%s\t%s\n", en.name, state, en.role)
		}
		tw.Flush()
	}

	switch {
	case p.auth.typ == authNone:
		writef(w, "Gateway login: not needed (auth type none)\n")
	case !credStored && keychainDown != nil:
		writef(w, "Gateway login: unknown (keychain error)\n")
	case !credStored:
		writef(w, "Gateway login: needed\n")
	case *offline:
		writef(w, "Gateway login: credential stored, not checked (--offline)\n")
	default:
		checkGatewayLogin(ctx, e, w, p, pf, store, &probs, later)
	}

	for _, f := range report {
		f()
	}
	switch {
	case probs.other > 0:
		return exitError
	case probs.login > 0:
		return exitLoginNeeded
	}
	return exitOK
}

// checkGatewayLogin fetches an access token with the stored credential and
// reports its expiry, or why the fetch failed.
func checkGatewayLogin(ctx context.Context, e *env, w io.Writer, p *profile, pf *profileFlags, store tokenstore.Secrets, probs *statusProblems, later func(func())) {
	client, err := p.httpClient()
	if err == nil {
		var tokenURL string
		cctx, cancel := context.WithTimeout(ctx, statusCheckTimeout)
		defer cancel()
		tokenURL, err = p.tokenURLFor(cctx, client)
		if err == nil {
			t, ferr := p.newGatewayAuth(tokenURL, store, client).Token(cctx)
			if ferr == nil {
				writef(w, "Gateway login: ok, access token valid until %s\n", describeExpiry(t.Expiry))
				return
			}
			err = ferr
		}
	}
	switch {
	case errors.Is(err, tokenstore.ErrLoginNeeded):
		writef(w, "Gateway login: rejected by the token endpoint\n")
		probs.login++
		later(func() {
			errorf(e, "the stored Gateway credential of profile %q was rejected (expired or revoked)", p.name)
			hintf(e, "run %q", exactCommand(p, pf, "login", ""))
		})
	default:
		writef(w, "Gateway login: could not check\n")
		probs.other++
		later(func() { _ = fail(e, keychainError(err)) })
	}
}

// reportMissing prints the error and the exact command for a missing secret.
func reportMissing(e *env, p *profile, pf *profileFlags, name string) {
	switch name {
	case clientSecretName:
		errorf(e, "no Gateway client secret stored for profile %q", p.name)
	case refreshTokenName:
		errorf(e, "not logged in to the Gateway with profile %q (no refresh token stored)", p.name)
	default:
		errorf(e, "no token stored for %q (profile %q)", name, p.name)
	}
	arg := name
	if name == clientSecretName || name == refreshTokenName {
		arg = ""
	}
	hintf(e, "run %q", exactCommand(p, pf, "login", arg))
	if name != refreshTokenName {
		hintf(e, "or set %s in the environment (CI, containers)", tokenstore.EnvVar(name))
	}
}

// injectArgs lists the tool arguments that secret fills, for status.
func (p *profile) injectArgs(secret string) string {
	var out string
	for _, r := range p.inject {
		if r.secret != secret {
			continue
		}
		if out != "" {
			out += ", "
		}
		out += r.argument
	}
	return out
}
