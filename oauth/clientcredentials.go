package oauth

import (
	"context"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// NewClientCredentials returns a TokenCache that gets Cognito access tokens
// with the client_credentials grant (machine app client).
func NewClientCredentials(cfg Config) *TokenCache {
	cfg, profile, style := cfg.withDefaults()
	f := &ccFetcher{
		cfg:     cfg,
		profile: profile,
		conf: clientcredentials.Config{
			ClientID:  cfg.ClientID,
			TokenURL:  cfg.TokenURL,
			Scopes:    cfg.Scopes,
			AuthStyle: style,
		},
	}
	return newTokenCache(f.fetch)
}

type ccFetcher struct {
	cfg     Config
	profile string

	mu       sync.Mutex // fetches are single flight; this only orders memory
	conf     clientcredentials.Config
	rejected tokenstore.Secret // the client secret last refused with invalid_client
}

func (f *ccFetcher) fetch(ctx context.Context) (*oauth2.Token, error) {
	secret, err := readCredential(ctx, f.cfg.Secrets, f.profile, tokenstore.ClientSecretName, "client secret")
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if secret == f.rejected {
		// Spare the token endpoint a request that cannot succeed.
		return nil, &LoginError{Profile: f.profile, Reason: rejectedClient("invalid_client")}
	}
	f.conf.ClientSecret = string(secret)
	tok, err := f.conf.Token(withHTTPClient(ctx, f.cfg.HTTPClient))
	f.conf.ClientSecret = ""
	if err != nil {
		err = tokenError(err, f.profile, rejectedClient)
		if isLoginNeeded(err) {
			f.rejected = secret
		}
		return nil, err
	}
	f.rejected = ""
	return tok, nil
}

func rejectedClient(code string) string {
	return "the token endpoint rejected the client ID or the stored client secret (" + code + ")"
}
