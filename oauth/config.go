package oauth

import (
	"net/http"

	"golang.org/x/oauth2"

	"github.com/agw-proxy/agw-proxy/internal/httpguard"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// Config configures a grant's TokenCache (NewClientCredentials,
// NewAuthorizationCode).
type Config struct {
	// TokenURL is the Cognito token endpoint (…/oauth2/token).
	TokenURL string
	// ClientID is the app client ID.
	ClientID string
	// Scopes to request; none means the client's default scopes. A refresh
	// (authorization code) does not send them: they are the login's.
	Scopes []string
	// Secrets holds the grant's credential for Profile: the client secret
	// as tokenstore.ClientSecretName (client credentials), or the refresh
	// token as tokenstore.RefreshTokenName, stored after LoginWithBrowser
	// (authorization code; a rotated refresh token is written back). It is
	// read again at every fetch, so a new login takes effect without a
	// restart.
	Secrets tokenstore.Secrets
	// Profile names the entry in Secrets ("default" when empty).
	Profile string
	// RefreshTokenName names the refresh token's entry in Secrets
	// (authorization code); "" means tokenstore.RefreshTokenName, the
	// Gateway login's. A downstream API's login (an inject rule's oauth
	// source) keeps its own, e.g. "asana.refresh-token".
	RefreshTokenName string
	// ClientSecretName, for the authorization code, names an optional
	// client secret in Secrets, sent with every refresh when stored (a
	// confidential app of a downstream API); "" sends none.
	ClientSecretName string
	// Login names the login a *LoginError asks for: "" for the Gateway's,
	// else the inject rule's secret ("asana").
	Login string
	// HTTPClient makes the token requests; nil means http.DefaultClient. A
	// guarded copy is used (internal/httpguard): a redirect of the token
	// request is an error, so the credential never goes elsewhere.
	HTTPClient *http.Client
	// AuthStyle says how the client authenticates. Zero means the client
	// ID (and client secret) in the form body (oauth2.AuthStyleInParams,
	// client_secret_post), as the AWS tutorial does; Cognito accepts
	// client_secret_basic too. It is never auto-detected: detection sends
	// the secret a second time after a failure.
	AuthStyle oauth2.AuthStyle
	// IDToken (authorization code only) makes the cache's token Cognito's
	// ID token instead of its access token: the bearer a Gateway whose
	// authorizer checks allowedAudience needs (an ID token's aud is the
	// client ID; an access token has none). Each refresh brings a new one;
	// a response without one (the app client lacks the openid scope) is
	// an error.
	IDToken bool
}

// withDefaults returns cfg with its guarded HTTP client, its profile name
// and its auth style.
func (cfg Config) withDefaults() (Config, string, oauth2.AuthStyle) {
	profile := cfg.Profile
	if profile == "" {
		profile = "default"
	}
	style := cfg.AuthStyle
	if style == oauth2.AuthStyleAutoDetect {
		style = oauth2.AuthStyleInParams
	}
	cfg.HTTPClient = httpguard.Client(cfg.HTTPClient)
	return cfg, profile, style
}
