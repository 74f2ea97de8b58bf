package oauth

import (
	"context"
	"net/http"
	"sync"

	"golang.org/x/oauth2"

	"github.com/agw-proxy/agw-proxy/internal/httpguard"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// AuthorizationCodeConfig configures NewAuthorizationCode.
type AuthorizationCodeConfig struct {
	// TokenURL is the Cognito token endpoint (…/oauth2/token).
	TokenURL string
	// ClientID is the (public) app client ID used at login.
	ClientID string
	// Scopes are those of the login; a refresh does not send them.
	Scopes []string
	// Secrets holds the refresh token as tokenstore.RefreshTokenName for
	// Profile, stored after LoginWithBrowser. It is read again at every
	// fetch, so a login in another terminal heals a running proxy; a
	// rotated refresh token is written back.
	Secrets tokenstore.Secrets
	// Profile names the entry in Secrets ("default" when empty).
	Profile string
	// HTTPClient makes the token requests; nil means http.DefaultClient. A
	// guarded copy is used (internal/httpguard): a redirect of the token
	// request is an error, so the refresh token never goes elsewhere.
	HTTPClient *http.Client
	// AuthStyle says how the client identifies itself; zero means
	// client_id in the form body (a public client has no secret), never
	// auto-detection.
	AuthStyle oauth2.AuthStyle
}

// NewAuthorizationCode returns a TokenCache that mints access tokens from
// the refresh token stored by the browser login (refresh_token grant).
// Cognito returns no new refresh token on refresh; when a server does, it is
// stored in place of the old one.
func NewAuthorizationCode(cfg AuthorizationCodeConfig) *TokenCache {
	profile := cfg.Profile
	if profile == "" {
		profile = "default"
	}
	style := cfg.AuthStyle
	if style == oauth2.AuthStyleAutoDetect {
		style = oauth2.AuthStyleInParams
	}
	cfg.HTTPClient = httpguard.Client(cfg.HTTPClient)
	f := &acFetcher{
		cfg:     cfg,
		profile: profile,
		conf: &oauth2.Config{
			ClientID: cfg.ClientID,
			Endpoint: oauth2.Endpoint{TokenURL: cfg.TokenURL, AuthStyle: style},
			Scopes:   cfg.Scopes,
		},
	}
	return newTokenCache(f.fetch)
}

type acFetcher struct {
	cfg     AuthorizationCodeConfig
	profile string
	conf    *oauth2.Config

	mu       sync.Mutex
	rejected tokenstore.Secret // the refresh token last refused with invalid_grant
	// A rotated refresh token that could not be stored: used while the
	// keychain still holds the one it replaced.
	rotatedFrom, rotatedTo tokenstore.Secret
}

func (f *acFetcher) fetch(ctx context.Context) (*oauth2.Token, error) {
	rt, err := readCredential(ctx, f.cfg.Secrets, f.profile, tokenstore.RefreshTokenName, "refresh token")
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if rt == f.rotatedFrom && f.rotatedTo != "" {
		rt = f.rotatedTo
	}
	if rt == f.rejected {
		// Spare the token endpoint a request that cannot succeed.
		return nil, &LoginError{Profile: f.profile, Reason: expiredLogin("invalid_grant")}
	}
	tok, err := f.conf.TokenSource(withHTTPClient(ctx, f.cfg.HTTPClient), &oauth2.Token{RefreshToken: string(rt)}).Token()
	if err != nil {
		err = tokenError(err, f.profile, expiredLogin)
		if isLoginNeeded(err) {
			f.rejected = rt
		}
		return nil, err
	}
	f.rejected = ""
	if next := tokenstore.Secret(tok.RefreshToken); next != "" && next != rt {
		if err := f.cfg.Secrets.Set(ctx, f.profile, tokenstore.RefreshTokenName, next); err != nil {
			// Keep working with the new token in this process; the next
			// login fixes the keychain.
			f.rotatedFrom, f.rotatedTo = rt, next
		} else {
			f.rotatedFrom, f.rotatedTo = "", ""
		}
	}
	return tok, nil
}

func expiredLogin(code string) string {
	if code == "invalid_client" {
		return "the token endpoint rejected the client ID (invalid_client)"
	}
	return "the stored refresh token was rejected, it may have expired or been revoked (" + code + ")"
}
