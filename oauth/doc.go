// Package oauth turns a stored credential into OAuth access tokens for the
// Gateway: a TokenCache that is concurrency-safe, refreshes early and
// fetches one token at a time, fed by the client_credentials grant
// (NewClientCredentials) or by a refresh token (NewAuthorizationCode); the
// browser login that gets that refresh token (LoginWithBrowser, with PKCE
// and a one-time URL); and OpenID Connect discovery (Discover). A TokenCache
// is the go-sdk auth.OAuthHandler of an MCP client transport.
//
// The credentials themselves live in a tokenstore.Secrets and are read again
// at every fetch, so a login in another process heals a running one. When
// only a new login helps, the error is a *LoginError, which wraps
// tokenstore.ErrLoginNeeded; what to run is the caller's to say.
//
//	cache := oauth.NewClientCredentials(oauth.Config{
//		TokenURL: "https://example.auth.us-east-1.amazoncognito.com/oauth2/token",
//		ClientID: "3n4b5urk1ft4fl3mg5e8c5ecbl",
//		Secrets:  tokenstore.NewKeychain(), // holds tokenstore.ClientSecretName
//	})
//	tok, err := cache.Token(ctx)
//	var login *oauth.LoginError
//	if errors.As(err, &login) {
//		// tell the user to log in to login.Profile again
//	}
package oauth
