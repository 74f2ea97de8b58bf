package oauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/agw-proxy/agw-proxy/oauth"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// A TokenCache fetches a token once and serves it from the cache; with the
// credential gone, the error says a login is needed, and for which profile.
func ExampleNewClientCredentials() {
	var fetches atomic.Int32
	tokenEndpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"access-1","token_type":"Bearer","expires_in":3600}`)
	}))
	defer tokenEndpoint.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	secrets := tokenstore.NewMemory() // tokenstore.NewKeychain() in a real program
	secrets.Set(ctx, "work", tokenstore.ClientSecretName, "client-secret")
	cache := oauth.NewClientCredentials(oauth.Config{
		TokenURL: tokenEndpoint.URL, ClientID: "app-client", Secrets: secrets, Profile: "work",
	})

	for range 2 {
		tok, err := cache.Token(ctx)
		fmt.Println(tok.AccessToken, err)
	}
	fmt.Println("fetches:", fetches.Load())

	secrets.Delete(ctx, "work", tokenstore.ClientSecretName)
	err := cache.Authorize(ctx, nil, nil) // what a 401 from the Gateway does
	var login *oauth.LoginError
	fmt.Println(errors.As(err, &login), login.Profile, errors.Is(err, tokenstore.ErrLoginNeeded))
	fmt.Println(err)
	// Output:
	// access-1 <nil>
	// access-1 <nil>
	// fetches: 1
	// true work true
	// oauth: gateway login needed for profile "work": no client secret stored
}
