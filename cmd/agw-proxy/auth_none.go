package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"golang.org/x/oauth2"

	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// noAuth is auth type none: requests go to the Gateway without a token (a
// Gateway without an inbound authorizer, or the emulator).
type noAuth struct{}

func (noAuth) name() string                       { return profile.AuthNone }
func (noAuth) credential() *gatewayCredential     { return nil }
func (noAuth) describe(p *profile.Profile) string { return p.Auth.Type }
func (noAuth) handler(*profile.Profile, tokenstore.Secrets, *http.Client, func(tokenstore.Secret)) auth.OAuthHandler {
	return nil
}

func (noAuth) gatewayClient(_ *env, _ *profile.Profile, client *http.Client, _ func(tokenstore.Secret)) *http.Client {
	return client
}

// check refuses the auth settings none does not use: with an explicit
// "type: none" they are a contradiction (a profile half switched from
// OAuth), not something to ignore.
func (noAuth) check(p *profile.Profile) []error {
	set := p.AuthSettings()
	if len(set) == 0 {
		return nil
	}
	var names, at []string
	for _, key := range set {
		name := strings.TrimPrefix(key, "auth.")
		switch where := p.At(key); {
		case strings.HasPrefix(where, "-"):
			name = where
		case where != "":
			at = append(at, name+" at "+where)
		}
		names = append(names, name)
	}
	typeName := "auth.type"
	if strings.HasPrefix(p.At("auth.type"), "-") {
		typeName = p.At("auth.type")
	}
	var hints []string
	if len(at) > 0 {
		at[0] = strings.Replace(at[0], " at ", " is at ", 1)
		hints = append(hints, strings.Join(at, ", "))
	}
	return []error{p.Problem("auth.type", hints, "auth type none uses no other auth settings; remove %s, or set %s",
		andList(names), typeName)}
}

// andList is "a", "a and b", "a, b and c".
func andList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

func (noAuth) token(context.Context, *profile.Profile, tokenstore.Secrets, *http.Client) (*oauth2.Token, error) {
	return nil, errors.New("auth type none has no token")
}

func (noAuth) login(_ context.Context, _ *env, p *profile.Profile, _ bool) error {
	// No config file and no flags: a first run, not a profile of type none.
	if err := p.CheckDefined(); err != nil {
		return err
	}
	hint := `to store a secret, run "agw-proxy login NAME" (e.g. agw-proxy login asana)`
	if names := p.SecretNames(); len(names) > 0 {
		hint = fmt.Sprintf("to store a secret for an inject rule, run %q", p.Command("login", names[0]))
	}
	var withLogin []string
	for _, m := range authMethods {
		if m.credential() != nil {
			withLogin = append(withLogin, m.name())
		}
	}
	return withHints(fmt.Errorf("profile %q has auth type none: there is no Gateway login", p.Name), hint,
		"for a Gateway login set auth.type (or --auth-type) to "+strings.Join(withLogin, " or "))
}

func (noAuth) doctor(_ context.Context, d *doctor, _ *profile.Profile, _ *http.Client, _ bool) (auth.OAuthHandler, time.Time, bool) {
	d.pass("token: not needed (auth type none)")
	return nil, time.Time{}, true
}
