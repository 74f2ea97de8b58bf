package oauth

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/oauth2"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// NewAuthorizationCode returns a TokenCache that mints access tokens from
// the refresh token stored by the browser login (refresh_token grant).
// Cognito returns no new refresh token on refresh; when a server does, it is
// stored in place of the old one.
func NewAuthorizationCode(cfg Config) *TokenCache {
	cfg, profile, style := cfg.withDefaults()
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
	cfg     Config
	profile string
	conf    *oauth2.Config

	mu       sync.Mutex
	rejected tokenstore.Secret // the refresh token last refused with invalid_grant
	// A rotated refresh token that could not be stored: used while the
	// keychain still holds the one it replaced.
	rotatedFrom, rotatedTo tokenstore.Secret
}

func (f *acFetcher) fetch(ctx context.Context) (*oauth2.Token, error) {
	tok, err := f.fetchOnce(ctx)
	var login *LoginError
	if errors.As(err, &login) {
		login.Login = f.cfg.Login
	}
	return tok, err
}

func (f *acFetcher) fetchOnce(ctx context.Context) (tok *oauth2.Token, err error) {
	name := cmp.Or(f.cfg.RefreshTokenName, tokenstore.RefreshTokenName)
	rt, err := readCredential(ctx, f.cfg.Secrets, f.profile, name, "refresh token")
	if err != nil {
		return nil, err
	}
	var clientSecret tokenstore.Secret
	if f.cfg.ClientSecretName != "" {
		clientSecret, err = f.cfg.Secrets.Get(ctx, f.profile, f.cfg.ClientSecretName)
		if err != nil && !errors.Is(err, tokenstore.ErrNotFound) {
			return nil, fmt.Errorf("oauth: reading the client secret: %w", err)
		}
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
	conf := *f.conf
	conf.ClientSecret = string(clientSecret)
	tok, err = conf.TokenSource(withHTTPClient(ctx, f.cfg.HTTPClient), &oauth2.Token{RefreshToken: string(rt)}).Token()
	if err != nil {
		err = tokenError(err, f.profile, expiredLogin)
		if isLoginNeeded(err) {
			f.rejected = rt
		}
		return nil, err
	}
	f.rejected = ""
	defer func() {
		if f.cfg.IDToken && tok != nil {
			tok, err = idToken(tok)
		}
	}()
	if next := tokenstore.Secret(tok.RefreshToken); next != "" && next != rt {
		if err := f.cfg.Secrets.Set(ctx, f.profile, name, next); err != nil {
			// Keep working with the new token in this process; the next
			// login fixes the keychain.
			f.rotatedFrom, f.rotatedTo = rt, next
		} else {
			f.rotatedFrom, f.rotatedTo = "", ""
		}
	}
	return tok, nil
}

// ErrNoIDToken reports a token response without the id_token that
// Config.IDToken asks for.
// It wraps ErrTokenRejected: a configuration problem, which no retry fixes.
var ErrNoIDToken = fmt.Errorf("%w: the answer has no ID token, which needs the openid scope on the app client and in the login", ErrTokenRejected)

// idToken returns tok's ID token as the token to send, expiring when the
// access token does or, sooner, when the ID token's own lifetime (exp -
// iat, on the issuer's clock) ends.
func idToken(tok *oauth2.Token) (*oauth2.Token, error) {
	id, _ := tok.Extra("id_token").(string)
	if id == "" {
		return nil, ErrNoIDToken
	}
	out := &oauth2.Token{AccessToken: id, TokenType: "Bearer", ExpiresIn: tok.ExpiresIn, Expiry: tok.Expiry}
	if out.ExpiresIn <= 0 {
		out.ExpiresIn = localExpiry(tok, timeNow()).Sub(timeNow()).Milliseconds() / 1000
	}
	if life := jwtLifetime(id); life > 0 && (out.ExpiresIn <= 0 || life < out.ExpiresIn) {
		out.ExpiresIn = life
	}
	return out, nil
}

// jwtLifetime is exp - iat of a JWT in seconds, 0 when it has not both.
func jwtLifetime(jwt string) int64 {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return 0
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return 0
	}
	var c struct {
		Exp, Iat int64
	}
	if json.Unmarshal(payload, &c) != nil || c.Exp <= c.Iat || c.Iat == 0 {
		return 0
	}
	return c.Exp - c.Iat
}

func expiredLogin(code string) string {
	if code == "invalid_client" {
		return "the token endpoint rejected the client ID (invalid_client)"
	}
	return "the stored refresh token was rejected, it may have expired or been revoked (" + code + ")"
}
