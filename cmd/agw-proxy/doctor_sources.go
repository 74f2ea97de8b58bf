package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"

	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/secretsource"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// checkSources checks the secrets that do not come from the keychain: a
// command is on PATH and prints a value within its timeout (never shown);
// an oauth login's stored refresh token mints an access token (a refresh,
// which stores a rotated refresh token like serve).
func (d *doctor) checkSources(ctx context.Context, p *profile.Profile) {
	seen := map[string]bool{}
	for _, r := range p.Inject {
		if seen[r.Secret] || r.Source == profile.SourceKeychain {
			continue
		}
		seen[r.Secret] = true
		if ctx.Err() != nil {
			return
		}
		switch r.Source {
		case profile.SourceCommand:
			d.checkCommandSource(ctx, p, r)
		case profile.SourceOAuth:
			d.checkOAuthSource(ctx, p, r)
		}
	}
}

func (d *doctor) checkCommandSource(ctx context.Context, p *profile.Profile, r profile.InjectRule) {
	what := fmt.Sprintf("secret %q (command %s)", r.Secret, printable(secretsource.Describe(r.Command)))
	if _, err := exec.LookPath(r.Command[0]); err != nil {
		d.fail(false, what+": "+printable(r.Command[0])+" is not on PATH",
			fmt.Sprintf("install it, or give its full path in secret_command (%s)", p.Origin(ruleKey(p, r.Secret, "secret_command"))))
		return
	}
	v, err := (&secretsource.Command{Argv: r.Command, Timeout: r.CommandTimeout}).Run(ctx)
	if err == nil && len(v) < tokenstore.MinSecretSize {
		d.fail(false, fmt.Sprintf("%s: prints a value under %d bytes: serve refuses it, since a secret that short cannot be scrubbed from results without mangling them", what, tokenstore.MinSecretSize))
		return
	}
	if err != nil {
		// The error names the command and its exit code, never its output.
		d.fail(false, what+": "+d.scrub.String(err.Error()),
			"run the command yourself to see its message (for a vault CLI, sign in to it first)")
		return
	}
	d.scrub.Add(v)
	d.pass("%s: prints a value (%d bytes) within %s", what, len(v), r.CommandTimeout)
}

func (d *doctor) checkOAuthSource(ctx context.Context, p *profile.Profile, r profile.InjectRule) {
	what := fmt.Sprintf("secret %q (oauth)", r.Secret)
	client, err := httpClient(p)
	if err != nil {
		d.fail(false, what+": "+err.Error())
		return
	}
	tokenURL, _, err := ruleEndpoints(ctx, r, client)
	if err != nil {
		d.fail(false, what+": "+d.scrub.String(err.Error()))
		return
	}
	store := &scrubbedSecrets{Secrets: d.store, scrub: d.scrub}
	cache := secretsource.OAuth{Cache: newRuleCache(p, r, tokenURL, store, client, d.scrub.Add)}
	tctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	if _, err := cache.Secret(tctx); err != nil {
		if errors.Is(err, tokenstore.ErrLoginNeeded) {
			d.fail(true, what+": "+d.scrub.String(err.Error()), fmt.Sprintf("run %q", p.Command("login", r.Secret)))
			return
		}
		d.fail(false, what+": a token refresh failed: "+d.scrub.String(err.Error()))
		return
	}
	d.pass("%s: the stored refresh token mints access tokens", what)
}

// ruleKey is the config key of field of the first rule that uses secret.
func ruleKey(p *profile.Profile, secret, field string) string {
	for i, r := range p.Inject {
		if r.Secret == secret {
			return fmt.Sprintf("inject[%d].%s", i, field)
		}
	}
	return ""
}
