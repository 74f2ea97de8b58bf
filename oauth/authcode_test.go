package oauth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/agw-proxy/agw-proxy/tokenstore/tokenstoretest"
)

func newAC(t *testing.T, srv *tokenServer, profile string, secrets tokenstore.Secrets) *TokenCache {
	t.Helper()
	g := NewAuthorizationCode(Config{
		TokenURL: srv.URL + "/oauth2/token", ClientID: srv.clientID, Scopes: []string{"openid", "gw/read"},
		Secrets: secrets, Profile: profile, HTTPClient: srv.Client(),
	})
	g.backoff = 5 * time.Millisecond
	return g
}

// storedRefresh registers a refresh token with the server and stores it.
func storedRefresh(t *testing.T, srv *tokenServer, f *tokenstoretest.Fake, profile, rt string) {
	t.Helper()
	srv.set(func(s *tokenServer) { s.refreshTokens[rt] = true })
	if err := f.Set(testwait.Context(t), profile, tokenstore.RefreshTokenName, tokenstore.Secret(rt)); err != nil {
		t.Fatal(err)
	}
}

func TestAuthorizationCodeRefreshKeepsRefreshToken(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	f := tokenstoretest.NewFake()
	storedRefresh(t, srv, f, "default", "refresh-a")
	g := newAC(t, srv, "default", f)
	tok, err := g.Token(testwait.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != "access-1" || tok.RefreshToken != "" {
		t.Errorf("Token returned a refresh token or the wrong access token")
	}
	if v, _ := f.Get(testwait.Context(t), "default", tokenstore.RefreshTokenName); v != "refresh-a" || f.Calls("set") != 1 {
		t.Errorf("the refresh token was rewritten although the server returned none (%d sets)", f.Calls("set"))
	}
}

func TestAuthorizationCodeRotatedRefreshTokenPersisted(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	f := tokenstoretest.NewFake()
	storedRefresh(t, srv, f, "default", "refresh-a")
	srv.set(func(s *tokenServer) { s.rotateTo = "refresh-b" })
	g := newAC(t, srv, "default", f)
	tok1, err := g.Token(testwait.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Get(testwait.Context(t), "default", tokenstore.RefreshTokenName); v != "refresh-b" {
		t.Fatal("the rotated refresh token was not stored")
	}
	// refresh-a is now invalid at the server: the next fetch must use refresh-b.
	if err := g.Authorize(testwait.Context(t), bearerRequest(tok1.AccessToken), nil); err != nil {
		t.Fatalf("refresh with the rotated token: %v", err)
	}
}

// failingSet is a Secrets whose Set always fails.
type failingSet struct{ tokenstore.Secrets }

func (failingSet) Set(context.Context, string, string, tokenstore.Secret) error {
	return tokenstore.ErrLocked
}

func TestAuthorizationCodeRotatedTokenKeptWhenStoreFails(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	f := tokenstoretest.NewFake()
	storedRefresh(t, srv, f, "default", "refresh-a")
	srv.set(func(s *tokenServer) { s.rotateTo = "refresh-b" })
	g := newAC(t, srv, "default", failingSet{f})
	tok1, err := g.Token(testwait.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Authorize(testwait.Context(t), bearerRequest(tok1.AccessToken), nil); err != nil {
		t.Fatalf("the rotated refresh token was lost when the keychain refused it: %v", err)
	}
}

func TestAuthorizationCodeInvalidGrantNeedsLogin(t *testing.T) {
	testwait.NoLeaks(t)
	for _, profile := range []string{"default", "work"} {
		srv := newTokenServer(t)
		f := tokenstoretest.NewFake()
		f.Set(testwait.Context(t), profile, tokenstore.RefreshTokenName, "revoked-refresh-token")
		g := newAC(t, srv, profile, f)
		_, err := g.Token(testwait.Context(t))
		if errors.Is(err, ErrTokenEndpoint) {
			t.Fatalf("err = %v, want ErrLoginNeeded only", err)
		}
		wantLoginError(t, err, profile, "invalid_grant")
		if strings.Contains(err.Error(), "revoked-refresh-token") {
			t.Error("secret leaked into the error")
		}
		if _, err := f.Get(testwait.Context(t), profile, tokenstore.RefreshTokenName); err != nil {
			t.Error("the stored refresh token was deleted on invalid_grant")
		}
	}
}

func TestAuthorizationCodeNoRefreshTokenNeedsLogin(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	g := newAC(t, srv, "default", tokenstoretest.NewFake())
	_, err := g.Token(testwait.Context(t))
	if !errors.Is(err, tokenstore.ErrLoginNeeded) || !strings.Contains(err.Error(), "no refresh token stored") {
		t.Fatalf("err = %v, want ErrLoginNeeded saying no refresh token is stored", err)
	}
	if srv.requests.Load() != 0 {
		t.Error("a request was sent without a refresh token")
	}
}

func TestAuthorizationCode503RetriedThenSuccess(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	f := tokenstoretest.NewFake()
	storedRefresh(t, srv, f, "default", "refresh-a")
	srv.set(func(s *tokenServer) { s.failNext, s.failStatus = 2, 503 })
	g := newAC(t, srv, "default", f)
	if _, err := g.Token(testwait.Context(t)); err != nil {
		t.Fatalf("after two 503s: %v", err)
	}
	if n := srv.requests.Load(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestLoginElsewhereHealsRunningProxy(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	f := tokenstoretest.NewFake()
	storedRefresh(t, srv, f, "default", "refresh-a")
	g := newAC(t, srv, "default", f)
	tok1, err := g.Token(testwait.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	// The refresh token is revoked and the Gateway starts refusing the token.
	srv.set(func(s *tokenServer) { delete(s.refreshTokens, "refresh-a") })
	if err := g.Authorize(testwait.Context(t), bearerRequest(tok1.AccessToken), nil); !errors.Is(err, tokenstore.ErrLoginNeeded) {
		t.Fatalf("Authorize with a revoked refresh token: err = %v, want ErrLoginNeeded", err)
	}
	if _, err := g.Token(testwait.Context(t)); !errors.Is(err, tokenstore.ErrLoginNeeded) {
		t.Fatalf("Token: err = %v, want ErrLoginNeeded", err)
	}
	// A login in another terminal stores a new refresh token.
	storedRefresh(t, srv, f, "default", "refresh-new")
	tok2, err := g.Token(testwait.Context(t))
	if err != nil {
		t.Fatalf("the new login did not heal the running proxy: %v", err)
	}
	if tok2.AccessToken == tok1.AccessToken {
		t.Error("no new access token")
	}
}
