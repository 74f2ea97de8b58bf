package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/oauth2"

	"github.com/agw-proxy/agw-proxy/awsiam"
	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/proxy"
	"github.com/agw-proxy/agw-proxy/secretsource"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

func init() {
	register(command{name: "status", summary: "Show the profile and which secrets are stored (masked)", run: runStatus})
}

func statusUsage() string {
	return `Usage:
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

` + profile.FlagsUsage(profile.AllFlags) + `
Examples:
    $ agw-proxy status
    $ agw-proxy status --profile work --offline
`
}

// statusCheckTimeout bounds the token fetch of status.
const statusCheckTimeout = 30 * time.Second

func runStatus(ctx context.Context, e *env, args []string) error {
	fs := pflag.NewFlagSet("status", pflag.ContinueOnError)
	pf := profile.AddFlags(fs, profile.AllFlags)
	offline := fs.Bool("offline", false, "Do not contact the token endpoint")
	if done, err := parseFlags(e, fs, statusUsage(), args); done {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("status", "takes no arguments, got %d", fs.NArg())
	}
	p, err := e.resolve(pf)
	if err != nil {
		return err
	}
	st := &status{e: e, p: p, w: e.stdout, store: e.secretStore()}
	st.profile()
	credStored := st.secrets(ctx)
	st.gatewayLogin(ctx, credStored, *offline)
	st.consents()
	st.cache()
	if err := ctx.Err(); err != nil {
		return err // interrupted: no report of the problems it caused
	}
	// Problems are printed after the report.
	for _, f := range st.report {
		f()
	}
	return reported(st.probs.exitCode())
}

// status is one run of the status command.
type status struct {
	e     *env
	p     *profile.Profile
	w     io.Writer
	store *tokenstore.Env

	probs  problems
	report []func() // prints a problem, after the report
	// keychainDown is the keychain's failure, once there was one.
	keychainDown error
}

// later counts a problem and prints it after the report.
func (st *status) later(loginFixes bool, f func()) {
	st.probs.add(loginFixes)
	st.report = append(st.report, f)
}

// profile prints where the profile comes from, its Gateway and its auth.
func (st *status) profile() {
	p, w := st.p, st.w
	// Always the file searched, found or not: a first run sees where the
	// file is expected.
	from := "no config file"
	switch {
	case p.InFile:
		from = p.ConfigPath
	case p.ConfigPath != "":
		from = "not in " + p.ConfigPath
	case p.SearchedPath != "":
		from = "no config file at " + p.SearchedPath
	}
	if !p.InFile && p.CheckDefined() == nil {
		from = "flags only; " + from
	}
	writef(w, "Profile:  %s (%s)\n", p.Name, from)
	gw := p.GatewayURL
	if gw == "" {
		gw = "not set"
		st.later(false, func() { _ = fail(st.e, p.RequireGateway()) })
	}
	writef(w, "Gateway:  %s\n", gw)
	writef(w, "Auth:     %s\n", methodOf(p).describe(p))
	if len(p.Inject) == 0 {
		writef(w, "Inject:   no rules (tool calls pass through unchanged)\n")
		return
	}
	writef(w, "Inject:\n")
	for i, r := range p.Inject {
		writef(w, "    rule %d  %s=%s via %s, tools %s, source %s\n", i+1, r.Argument, r.Secret, r.Via, strings.Join(quoteAll(r.Tools), " "), describeSource(p, r))
	}
}

// describeSource says where a rule's secret comes from, never its value:
// "keychain", "command op read op://...", "oauth (client 1234 at
// https://app.asana.com/-/oauth_token; log in with "agw-proxy login asana
// --profile work")": the login named with the profile's flags, as the hint
// a missing refresh token gets, so that it can be run as shown.
func describeSource(p *profile.Profile, r profile.InjectRule) string {
	switch r.Source {
	case profile.SourceCommand:
		return fmt.Sprintf("command %s (timeout %s, cached %s)", printable(secretsource.Describe(r.Command)), r.CommandTimeout, r.CacheTTL)
	case profile.SourceOAuth:
		at := cmp.Or(r.OAuth.TokenURL, r.OAuth.Issuer)
		return fmt.Sprintf("oauth (client %s at %s; log in with %q)", printable(r.OAuth.ClientID), printable(at), p.Command("login", r.Secret))
	}
	return profile.SourceKeychain
}

// secrets prints, for every secret the profile needs, whether it is stored
// and where. It reports whether the Gateway credential is.
func (st *status) secrets(ctx context.Context) (credStored bool) {
	needed := neededSecrets(st.p)
	if len(needed) == 0 {
		writef(st.w, "Secrets:  none used by this profile\n")
		return false
	}
	writef(st.w, "Secrets:\n")
	tw := tabwriter.NewWriter(st.w, 0, 0, 2, ' ', 0)
	for _, s := range needed {
		state := st.secret(ctx, s)
		if s.cred != nil && strings.HasPrefix(state, "stored") {
			credStored = true
		}
		role := s.role
		if s.cred != nil {
			role = "Gateway credential"
		}
		writef(tw, "    %s\t%s\t%s\n", s.name, state, role)
	}
	tw.Flush()
	return credStored
}

// secret looks one secret up and says what became of it.
func (st *status) secret(ctx context.Context, s neededSecret) string {
	if st.keychainDown != nil && strings.TrimSpace(st.e.getenv(tokenstore.EnvVar(s.name))) == "" {
		// One keychain failure (often a timeout) is enough: do not wait
		// for it again for every secret.
		return "not checked (keychain unavailable)"
	}
	v, src, err := st.store.Lookup(ctx, st.p.Name, s.name)
	switch {
	case err == nil && len(v) < tokenstore.MinSecretSize:
		st.later(true, func() { reportTooShort(st.e, st.p, s, src) })
		return fmt.Sprintf("too short: %d bytes in %s", len(v), src)
	case err == nil:
		return fmt.Sprintf("stored in %s, %d bytes", src, len(v))
	case errors.Is(err, tokenstore.ErrNotFound):
		st.later(true, func() { reportMissing(st.e, st.p, s) })
		return "missing"
	}
	st.keychainDown = err
	st.later(false, func() { _ = fail(st.e, keychainError(err)) })
	return "unknown: keychain error"
}

// gatewayLogin prints whether the Gateway login works: unless offline, a
// stored credential is checked by getting an access token.
func (st *status) gatewayLogin(ctx context.Context, credStored, offline bool) {
	w, p := st.w, st.p
	switch {
	case p.Auth.Type == profile.AuthAWSIAM:
		st.awsIdentity(ctx, offline)
		return
	case credentialOf(p) == nil:
		writef(w, "Gateway login: not needed (auth type %s)\n", p.Auth.Type)
		return
	case !credStored && st.keychainDown != nil:
		writef(w, "Gateway login: unknown (keychain error)\n")
		return
	case !credStored:
		writef(w, "Gateway login: needed\n")
		return
	case offline:
		writef(w, "Gateway login: credential stored, not checked (--offline)\n")
		return
	}
	client, err := httpClient(p)
	if err == nil {
		cctx, cancel := context.WithTimeout(ctx, statusCheckTimeout)
		defer cancel()
		var t *oauth2.Token
		if t, err = methodOf(p).token(cctx, p, st.store, client); err == nil {
			writef(w, "Gateway login: ok, access token valid until %s\n", describeExpiry(t.Expiry))
			return
		}
	}
	if ctx.Err() != nil {
		return // interrupted: runStatus ends without a report
	}
	cred := credentialOf(p)
	if envVar := tokenstore.EnvVar(cred.secret); errors.Is(err, tokenstore.ErrLoginNeeded) && cred.envHint && strings.TrimSpace(st.e.getenv(envVar)) != "" {
		// A login would store a value the environment still hides:
		// the variable is what to fix (doctor says the same).
		writef(w, "Gateway login: rejected by the token endpoint\n")
		st.later(false, func() {
			errorf(st.e, "the token endpoint rejected %s of profile %q from %s", cred.label, p.Name, envVar)
			hintf(st.e, "%s is set and wins over the keychain: correct it, or unset it to use the stored secret", envVar)
		})
		return
	}
	if errors.Is(err, tokenstore.ErrLoginNeeded) {
		writef(w, "Gateway login: rejected by the token endpoint\n")
		st.later(true, func() {
			errorf(st.e, "the stored Gateway credential of profile %q was rejected (expired or revoked)", p.Name)
			hintf(st.e, "run %q", p.Command("login", ""))
		})
		return
	}
	writef(w, "Gateway login: could not check\n")
	st.later(false, func() { _ = fail(st.e, keychainError(err)) })
}

// reportTooShort prints the error and the fix for a secret shorter than
// tokenstore.MinSecretSize, which serve refuses: it could not be scrubbed
// from results without mangling them.
func reportTooShort(e *env, p *profile.Profile, s neededSecret, src tokenstore.Source) {
	errorf(e, "%q (profile %q) in the %s is shorter than %d bytes: serve refuses it, since a secret that short cannot be scrubbed from results without mangling them",
		s.name, p.Name, src, tokenstore.MinSecretSize)
	if src != tokenstore.SourceKeychain {
		hintf(e, "set %s to the whole secret", tokenstore.EnvVar(s.name))
		return
	}
	for _, h := range loginHints(p, s) {
		hintf(e, "%s", h)
	}
}

// reportMissing prints the error and the exact command for a missing secret.
func reportMissing(e *env, p *profile.Profile, s neededSecret) {
	if s.cred != nil {
		errorf(e, s.cred.missing, p.Name)
	} else {
		errorf(e, "no token stored for %q (profile %q)", s.name, p.Name)
	}
	for _, h := range loginHints(p, s) {
		hintf(e, "%s", h)
	}
}

// awsIdentity prints the AWS identity an aws_iam profile signs as (STS
// GetCallerIdentity: account and ARN, never a key).
func (st *status) awsIdentity(ctx context.Context, offline bool) {
	w, p := st.w, st.p
	if offline {
		writef(w, "AWS identity: not checked (--offline)\n")
		return
	}
	client, err := httpClient(p)
	if err != nil {
		writef(w, "AWS identity: could not check\n")
		st.later(false, func() { _ = fail(st.e, err) })
		return
	}
	scrub := proxy.NewScrubber()
	cctx, cancel := context.WithTimeout(ctx, statusCheckTimeout)
	defer cancel()
	gw := methodOf(p).gatewayClient(st.e, p, client, scrub.Add)
	id, src, err := awsIdentity(cctx, st.e, p, gw, client)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		var ce *awsiam.CredentialError
		if errors.As(err, &ce) {
			writef(w, "AWS identity: no credentials\n")
			st.later(ce.SSO, func() {
				errorf(st.e, "%s", scrub.String(awsCredentialText(err)))
				for _, h := range awsCredentialHints(p, err) {
					hintf(st.e, "%s", h)
				}
			})
			return
		}
		writef(w, "AWS identity: could not check (%s)\n", src)
		st.later(false, func() {
			errorf(st.e, "STS GetCallerIdentity failed with the credentials from %s: %s", src, scrub.String(err.Error()))
			hintf(st.e, "the credentials may be expired or revoked")
		})
		return
	}
	writef(w, "AWS identity: %s (account %s), from %s\n", id.ARN, id.Account, src)
}
