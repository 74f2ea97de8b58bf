package secretsource

import (
	"context"
	"sync"

	"github.com/agw-proxy/agw-proxy/oauth"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// OAuth is a secret that is an access token of a downstream API's own OAuth
// login (an inject rule's oauth source): Cache mints it from the refresh
// token "agw-proxy login SECRET" stored, refreshes it before it expires on
// a context of its own, shares a refresh between concurrent reads and
// stores a rotated refresh token (oauth.NewAuthorizationCode with the
// rule's keychain names).
type OAuth struct {
	// Cache is the token cache; when nil, Make makes it at the first read
	// (after discovering the provider's token endpoint, say), and again
	// after a failure.
	Cache *oauth.TokenCache
	Make  func(ctx context.Context) (*oauth.TokenCache, error)

	mu sync.Mutex
}

func (o *OAuth) cache(ctx context.Context) (*oauth.TokenCache, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.Cache == nil {
		c, err := o.Make(ctx)
		if err != nil {
			return nil, err
		}
		o.Cache = c
	}
	return o.Cache, nil
}

// Secret returns a valid access token. Errors are as TokenCache.Token's: a
// *oauth.LoginError when only a new login helps.
func (o *OAuth) Secret(ctx context.Context) (tokenstore.Secret, error) {
	c, err := o.cache(ctx)
	if err != nil {
		return "", err
	}
	tok, err := c.Token(ctx)
	if err != nil {
		return "", err
	}
	return tokenstore.Secret(tok.AccessToken), nil
}

// Rejected returns a new access token after the target rejected used.
func (o *OAuth) Rejected(ctx context.Context, used tokenstore.Secret) (tokenstore.Secret, error) {
	c, err := o.cache(ctx)
	if err != nil {
		return "", err
	}
	tok, err := c.Rejected(ctx, used)
	if err != nil {
		return "", err
	}
	return tokenstore.Secret(tok.AccessToken), nil
}

// RefreshTokenName and ClientSecretName are the keychain names of an oauth
// source's refresh token and optional client secret for the secret name:
// "asana.refresh-token", "asana.client-secret". The dot keeps them apart
// from every secret name.
func RefreshTokenName(secret string) string { return secret + "." + tokenstore.RefreshTokenName }

// ClientSecretName: see RefreshTokenName.
func ClientSecretName(secret string) string { return secret + "." + tokenstore.ClientSecretName }
