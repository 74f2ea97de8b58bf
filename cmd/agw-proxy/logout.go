package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/secretsource"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

func init() {
	register(command{name: "logout", summary: "Remove stored secrets from the OS keychain", run: runLogout})
}

// logoutFlags are the profile flags logout takes: the profile, the secret
// names of its inject rules, and the auth type (which Gateway credential).
const logoutFlags = profile.SelectionFlags | profile.AuthTypeFlag | profile.InjectFlags

func logoutUsage() string {
	return `Usage:
    agw-proxy logout SECRET [options]
    agw-proxy logout [--all] [options]

Remove secrets of a profile from the OS keychain. With SECRET (e.g. asana),
remove that secret (for a rule with source oauth, its login's refresh token
and the app's client secret); without it, the Gateway credential of the profile's auth
type (the client secret or the refresh token); with --all, every secret the
profile uses and both Gateway credentials. Removing what is not stored is not
an error. Environment overrides (AGW_PROXY_SECRET_<NAME>,
AGW_PROXY_CLIENT_SECRET) are not touched: unset them yourself.

Options:
    --all                  Remove every secret of the profile
    -h, --help             Show this help

` + profile.FlagsUsage(logoutFlags) + `
Examples:
    $ agw-proxy logout asana
    $ agw-proxy logout --profile work --all
`
}

func runLogout(ctx context.Context, e *env, args []string) error {
	fs := pflag.NewFlagSet("logout", pflag.ContinueOnError)
	pf := profile.AddFlags(fs, logoutFlags)
	all := fs.Bool("all", false, "Remove every secret of the profile")
	if done, err := parseFlags(e, fs, logoutUsage(), args); done {
		return err
	}
	switch {
	case fs.NArg() > 1:
		return usageErrorf("logout", "takes at most one SECRET name, got %d arguments", fs.NArg())
	case fs.NArg() == 1 && *all:
		return usageErrorf("logout", "give either SECRET or --all, not both")
	case fs.NArg() == 1:
		if err := checkSecretArg("logout", fs.Arg(0)); err != nil {
			return err
		}
	}
	p, err := e.resolve(pf)
	if err != nil {
		return err
	}

	var names []string
	switch {
	case *all:
		for _, name := range p.SecretNames() {
			names = append(names, storedNames(p, name)...)
		}
		for _, c := range gatewayCredentials() {
			names = append(names, c.secret)
		}
	case fs.NArg() == 1:
		names = storedNames(p, fs.Arg(0))
		if len(names) == 0 {
			writef(e.stdout, "Secret %q of profile %q comes from its command: nothing is stored, nothing to remove.\n", fs.Arg(0), p.Name)
			return nil
		}
	case credentialOf(p) != nil:
		names = []string{credentialOf(p).secret}
	default:
		writef(e.stdout, "Profile %q has auth type none: no Gateway credential to remove.\n", p.Name)
		if used := p.SecretNames(); len(used) > 0 {
			writef(e.stdout, "Its inject rules use %s: remove them with %q or --all.\n",
				strings.Join(used, ", "), p.Command("logout", used[0]))
		}
		return nil
	}

	store := e.keychain()
	var removed, absent []string
	for _, name := range names {
		err := store.Delete(ctx, p.Name, name)
		switch {
		case err == nil:
			removed = append(removed, name)
			writef(e.stdout, "Removed %s from the keychain (%s).\n", describeSecret(name), account(p.Name, name))
		case errors.Is(err, tokenstore.ErrNotFound):
			absent = append(absent, name)
		default:
			if len(removed) > 0 {
				writef(e.stdout, "Removed so far: %s.\n", strings.Join(removed, ", "))
			}
			return keychainError(err)
		}
	}
	if len(absent) > 0 {
		writef(e.stdout, "Nothing stored for %s (profile %q): nothing to remove.\n", strings.Join(quoteAll(absent), ", "), p.Name)
	}
	for _, name := range names {
		if strings.Contains(name, ".") {
			continue // an oauth login's entry: no environment override
		}
		if v := strings.TrimSpace(e.getenv(tokenstore.EnvVar(name))); v != "" {
			writef(e.stdout, "Note: %s is still set in this environment and provides %q.\n", tokenstore.EnvVar(name), name)
		}
	}
	if fs.NArg() == 1 && len(removed) == 0 {
		if used := p.SecretNames(); len(used) > 0 && !slices.Contains(used, fs.Arg(0)) {
			writef(e.stdout, "The profile's inject rules use: %s.\n", strings.Join(used, ", "))
		}
	}
	return nil
}

// storedNames are the keychain entries of the secret name: for an oauth
// rule's secret its login's refresh token and client secret, for a command
// one none, else the name itself.
func storedNames(p *profile.Profile, name string) []string {
	if r := p.RuleOf(name); r != nil {
		switch r.Source {
		case profile.SourceOAuth:
			return []string{secretsource.RefreshTokenName(name), secretsource.ClientSecretName(name)}
		case profile.SourceCommand:
			return nil
		}
	}
	return []string{name}
}

// describeSecret names a secret for messages.
func describeSecret(name string) string {
	if c := credentialNamed(name); c != nil {
		return c.label
	}
	if login, ok := strings.CutSuffix(name, "."+tokenstore.RefreshTokenName); ok {
		return fmt.Sprintf("the refresh token of the OAuth login %q", login)
	}
	if login, ok := strings.CutSuffix(name, "."+tokenstore.ClientSecretName); ok {
		return fmt.Sprintf("the client secret of the OAuth app of %q", login)
	}
	return fmt.Sprintf("%q", name)
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fmt.Sprintf("%q", n)
	}
	return out
}
