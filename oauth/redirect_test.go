package oauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/agw-proxy/agw-proxy/internal/httpguard"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/agw-proxy/agw-proxy/tokenstore/tokenstoretest"
)

// counter is a server that counts the requests it gets and answers them
// with h (nil: 200 and nothing).
type counter struct {
	*httptest.Server
	hits atomic.Int64
}

func newCounter(t *testing.T, h http.HandlerFunc) *counter {
	t.Helper()
	c := &counter{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		io.Copy(io.Discard, r.Body)
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(c.Close)
	return c
}

// elsewhere returns the sink's URL under another host name ("localhost"
// for 127.0.0.1): another origin, but the same listener, so a request that
// follows a redirect there is counted.
func elsewhere(t *testing.T, sink *counter, path string) string {
	t.Helper()
	u, _ := url.Parse(sink.URL)
	return "http://localhost:" + u.Port() + path
}

// redirectTo answers every request with a 307 to loc.
func redirectTo(loc string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusTemporaryRedirect)
	}
}

func wantTokenRedirectRefused(t *testing.T, err error, front, sink *counter, secrets ...string) {
	t.Helper()
	var re *httpguard.RedirectError
	if !errors.As(err, &re) || !errors.Is(err, ErrTokenRejected) {
		t.Fatalf("error %v, want ErrTokenRejected wrapping a *httpguard.RedirectError", err)
	}
	if n := sink.hits.Load(); n != 0 {
		t.Errorf("the other origin got %d requests, want none", n)
	}
	if n := front.hits.Load(); n != 1 {
		t.Errorf("the token endpoint got %d requests, want 1 (no retry of a redirect, no auth-style probe)", n)
	}
	if lerr := leakcheck.Text(err.Error(), secrets...); lerr != nil {
		t.Errorf("the error quotes a secret or the Location: %v", lerr)
	}
}

func TestTokenRequestIsNeverRedirected(t *testing.T) {
	testwait.NoLeaks(t)
	const clientSecret = "cognito-client-secret-0123456789abcdefgh"
	const refreshToken = "cognito-refresh-token-0123456789abcdefgh"
	for _, tt := range []struct {
		name   string
		client *http.Client
		style  oauth2.AuthStyle
		grant  string
	}{
		{"client credentials, default style", http.DefaultClient, 0, "client_credentials"},
		{"client credentials, basic", http.DefaultClient, oauth2.AuthStyleInHeader, "client_credentials"},
		{"client credentials, no client given", nil, 0, "client_credentials"},
		{"refresh token", http.DefaultClient, 0, "refresh_token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sink := newCounter(t, nil)
			loc := elsewhere(t, sink, "/oauth2/token?echo=location-carried-SECRET-0123456789")
			front := newCounter(t, redirectTo(loc))
			f := tokenstoretest.NewFake()
			ctx, cancel := context.WithTimeout(testwait.Context(t), 10*time.Second)
			defer cancel()
			var g *TokenCache
			if tt.grant == "client_credentials" {
				f.Set(ctx, "default", tokenstore.ClientSecretName, clientSecret)
				g = NewClientCredentials(Config{TokenURL: front.URL + "/oauth2/token", ClientID: "client-1", Secrets: f, HTTPClient: tt.client, AuthStyle: tt.style})
			} else {
				f.Set(ctx, "default", tokenstore.RefreshTokenName, refreshToken)
				g = NewAuthorizationCode(Config{TokenURL: front.URL + "/oauth2/token", ClientID: "client-1", Secrets: f, HTTPClient: tt.client})
			}
			g.backoff = time.Millisecond
			_, err := g.Token(ctx)
			wantTokenRedirectRefused(t, err, front, sink, clientSecret, refreshToken, "location-carried-SECRET-0123456789")
			if want := "to http://localhost:"; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name the Location's origin", err)
			}
		})
	}
}

func TestCodeExchangeIsNeverRedirected(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	sink := newCounter(t, nil)
	front := newCounter(t, redirectTo(elsewhere(t, sink, "/oauth2/token")))
	redirect := freeRedirect(t, "127.0.0.1")
	srv.set(func(s *tokenServer) { s.redirectURI = redirect })
	b := newBrowser()
	cfg := loginConfig(srv, redirect, b, io.Discard)
	cfg.TokenURL = front.URL + "/oauth2/token"
	ctx, cancel := context.WithTimeout(testwait.Context(t), 10*time.Second)
	defer cancel()
	_, err := LoginWithBrowser(ctx, cfg)
	var re *httpguard.RedirectError
	if !errors.As(err, &re) {
		t.Fatalf("error %v, want a *httpguard.RedirectError", err)
	}
	if sink.hits.Load() != 0 || front.hits.Load() != 1 {
		t.Errorf("the token endpoint got %d requests and the other origin %d, want 1 and 0", front.hits.Load(), sink.hits.Load())
	}
}

// Cognito's token endpoint takes client_secret_post as the AWS tutorial
// sends it; the default style sends it so, once.
func TestClientCredentialsDefaultIsClientSecretPost(t *testing.T) {
	testwait.NoLeaks(t)
	var hits, basic, inBody atomic.Int64
	srv := newTokenServer(t)
	spy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if _, _, ok := r.BasicAuth(); ok {
			basic.Add(1)
		}
		r.ParseForm()
		if r.PostForm.Get("client_secret") != "" {
			inBody.Add(1)
		}
		srv.serve(w, r)
	}))
	defer spy.Close()
	f := tokenstoretest.NewFake()
	f.Set(testwait.Context(t), "default", tokenstore.ClientSecretName, tokenstore.Secret(srv.clientSecret))
	g := NewClientCredentials(Config{TokenURL: spy.URL, ClientID: srv.clientID, Secrets: f})
	ctx, cancel := context.WithTimeout(testwait.Context(t), 10*time.Second)
	defer cancel()
	if _, err := g.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 1 || basic.Load() != 0 || inBody.Load() != 1 {
		t.Errorf("%d requests, %d with Basic, %d with the secret in the body; want 1, 0, 1", hits.Load(), basic.Load(), inBody.Load())
	}
}

func TestDiscoveryFollowsNoRedirectElsewhere(t *testing.T) {
	testwait.NoLeaks(t)
	doc := func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"issuer":"http://%s/pool","token_endpoint":"http://%s/oauth2/token"}`, r.Host, r.Host)
	}
	ctx, cancel := context.WithTimeout(testwait.Context(t), 10*time.Second)
	defer cancel()

	// Within the origin: followed.
	mux := http.NewServeMux()
	mux.HandleFunc("/old/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/pool/.well-known/openid-configuration", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/pool/.well-known/openid-configuration", doc)
	same := httptest.NewServer(mux)
	defer same.Close()
	if _, err := Discover(ctx, nil, same.URL+"/old/.well-known/openid-configuration"); err != nil {
		t.Errorf("a redirect within the origin: %v", err)
	}

	// Elsewhere: refused, and the other origin sees nothing.
	sink := newCounter(t, doc)
	front := newCounter(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere(t, sink, "/pool/.well-known/openid-configuration"), http.StatusFound)
	})
	_, err := Discover(ctx, http.DefaultClient, front.URL+"/pool/.well-known/openid-configuration")
	var re *httpguard.RedirectError
	if !errors.As(err, &re) {
		t.Fatalf("error %v, want a *httpguard.RedirectError", err)
	}
	if sink.hits.Load() != 0 {
		t.Error("the other origin got the discovery request")
	}
}

func TestHugeDiscoveryDocumentIsAnError(t *testing.T) {
	testwait.NoLeaks(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"issuer":"`)
		block := strings.Repeat("a", 64<<10)
		for {
			if _, err := io.WriteString(w, block); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(testwait.Context(t), 10*time.Second)
	defer cancel()
	_, err := Discover(ctx, nil, srv.URL)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("error %v (context: %v), want a prompt error for an endless document", err, ctx.Err())
	}
}
