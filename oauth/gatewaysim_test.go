package oauth

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/agw-proxy/agw-proxy/tokenstore/tokenstoretest"
)

// These tests run tokenstore against the project's Cognito emulator, a
// second opinion on the small fake token server of the unit tests.

func TestSimClientCredentials(t *testing.T) {
	testwait.NoLeaks(t)
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		f := tokenstoretest.NewFake()
		f.Set(testwait.Context(t), "default", tokenstore.ClientSecretName, tokenstore.Secret(sim.ClientSecret))
		g := NewClientCredentials(Config{
			TokenURL: sim.TokenURL, ClientID: sim.ClientID, Scopes: []string{sim.Scope}, Secrets: f, AuthStyle: style,
		})
		tok, err := g.Token(testwait.Context(t))
		if err != nil {
			t.Fatalf("auth style %d: %v", style, err)
		}
		if until := time.Until(tok.Expiry); until < 59*time.Minute || until > time.Hour {
			t.Errorf("expiry in %v, want about 1h", until)
		}
	}
}

func TestSimBrowserLoginThenRefresh(t *testing.T) {
	testwait.NoLeaks(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	redirect := fmt.Sprintf("http://localhost:%d/", l.Addr().(*net.TCPAddr).Port)
	l.Close()
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{RedirectURL: redirect})
	ctx := testwait.Context(t)

	d, err := Discover(ctx, nil, sim.DiscoveryURL)
	if err != nil {
		t.Fatal(err)
	}
	if d.TokenURL != sim.TokenURL || d.AuthorizeURL != sim.AuthorizeURL {
		t.Fatalf("discovery %+v does not match the emulator", d)
	}
	browserDone := make(chan error, 1)
	tok, err := LoginWithBrowser(ctx, LoginConfig{
		AuthorizeURL: d.AuthorizeURL, TokenURL: d.TokenURL, ClientID: sim.WebClientID,
		Scopes: []string{"openid", sim.Scope}, RedirectURL: redirect, Timeout: 10 * time.Second,
		OpenURL: func(u string) error {
			go func() { // the browser follows the redirect to the loopback listener
				resp, err := testClient.Get(u)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("callback page: HTTP %d", resp.StatusCode)
					}
				}
				browserDone <- err
			}()
			return nil
		},
	})
	if err != nil {
		t.Fatalf("LoginWithBrowser: %v", err)
	}
	if err := testwait.Await(t, browserDone, "the browser"); err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || len(tok.RefreshToken) > tokenstore.MaxSecretSize {
		t.Fatalf("refresh token of %d bytes, want 1..%d", len(tok.RefreshToken), tokenstore.MaxSecretSize)
	}

	f := tokenstoretest.NewFake()
	if err := f.Set(ctx, "default", tokenstore.RefreshTokenName, tokenstore.Secret(tok.RefreshToken)); err != nil {
		t.Fatal(err)
	}
	g := NewAuthorizationCode(Config{
		TokenURL: d.TokenURL, ClientID: sim.WebClientID, Secrets: f, Profile: "default",
	})
	sim.FailTokenNext(2, http.StatusServiceUnavailable)
	access, err := g.Token(ctx)
	if err != nil {
		t.Fatalf("refresh through two 503s: %v", err)
	}
	if v, _ := f.Get(ctx, "default", tokenstore.RefreshTokenName); string(v) != tok.RefreshToken {
		t.Error("the stored refresh token changed although Cognito returns none on refresh")
	}

	sim.RevokeRefreshTokens()
	sim.RevokeTokens()
	req, _ := http.NewRequest("POST", sim.GatewayURL, nil)
	req.Header.Set("Authorization", "Bearer "+access.AccessToken)
	if err := g.Authorize(ctx, req, &http.Response{StatusCode: 401, Body: http.NoBody}); !errors.Is(err, tokenstore.ErrLoginNeeded) {
		t.Fatalf("after revocation: err = %v, want ErrLoginNeeded", err)
	}
}
