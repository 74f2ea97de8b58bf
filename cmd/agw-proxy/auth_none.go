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
func (noAuth) check(*profile.Profile) []error     { return nil }
func (noAuth) credential() *gatewayCredential     { return nil }
func (noAuth) describe(p *profile.Profile) string { return p.Auth.Type }
func (noAuth) handler(*profile.Profile, tokenstore.Secrets, *http.Client, func(tokenstore.Secret)) auth.OAuthHandler {
	return nil
}

func (noAuth) token(context.Context, *profile.Profile, tokenstore.Secrets, *http.Client) (*oauth2.Token, error) {
	return nil, errors.New("auth type none has no token")
}

func (noAuth) login(_ context.Context, _ *env, p *profile.Profile, _ bool) error {
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
