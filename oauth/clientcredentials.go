package oauth

import (
	"context"
	"net/http"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/agw-proxy/agw-proxy/internal/httpguard"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// ClientCredentialsConfig configures NewClientCredentials.
type ClientCredentialsConfig struct {
	// TokenURL is the Cognito token endpoint (…/oauth2/token).
	TokenURL string
	// ClientID is the app client ID.
	ClientID string
	// Scopes to request; none means the client's default scopes.
	Scopes []string
	// Secrets holds the client secret as tokenstore.ClientSecretName for
	// Profile. It is read again at every fetch, so a new login takes effect
	// without a restart.
	Secrets tokenstore.Secrets
	// Profile names the entry in Secrets ("default" when empty).
	Profile string
	// HTTPClient makes the token requests; nil means http.DefaultClient. A
	// guarded copy is used (internal/httpguard): a redirect of the token
	// request is an error, so the client secret never goes elsewhere.
	HTTPClient *http.Client
	// AuthStyle says how the client authenticates. Zero means
	// client_secret_post (oauth2.AuthStyleInParams), as the AWS tutorial
	// does; Cognito accepts client_secret_basic too. It is never
	// auto-detected: detection sends the secret a second time after a
	// failure.
	AuthStyle oauth2.AuthStyle
}

// NewClientCredentials returns a TokenCache that gets Cognito access tokens
// with the client_credentials grant (machine app client).
func NewClientCredentials(cfg ClientCredentialsConfig) *TokenCache {
	profile := cfg.Profile
	if profile == "" {
		profile = "default"
	}
	style := cfg.AuthStyle
	if style == oauth2.AuthStyleAutoDetect {
		style = oauth2.AuthStyleInParams
	}
	cfg.HTTPClient = httpguard.Client(cfg.HTTPClient)
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
	cfg     ClientCredentialsConfig
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
