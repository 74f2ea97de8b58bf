package tokenstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// freeRedirect returns a loopback callback URL on a port that was free a
// moment ago.
func freeRedirect(t *testing.T, host string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return fmt.Sprintf("http://%s:%d/", host, port)
}

// browser plays the user's browser: it opens the URL and follows the
// redirect to the loopback listener, recording what it saw.
type browser struct {
	mu     sync.Mutex
	done   chan struct{}
	status int
	page   string
	err    error
	before func() // runs before opening, e.g. a forged callback
}

func newBrowser() *browser { return &browser{done: make(chan struct{})} }

func (b *browser) open(u string) error {
	go func() {
		defer close(b.done)
		if b.before != nil {
			b.before()
		}
		resp, err := http.Get(u)
		b.mu.Lock()
		defer b.mu.Unlock()
		if err != nil {
			b.err = err
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		b.status, b.page = resp.StatusCode, string(body)
	}()
	return nil
}

func loginConfig(srv *tokenServer, redirect string, b *browser, out io.Writer) LoginConfig {
	return LoginConfig{
		AuthorizeURL: srv.URL + "/oauth2/authorize",
		TokenURL:     srv.URL + "/oauth2/token",
		ClientID:     srv.clientID,
		Scopes:       []string{"openid", "gw/read"},
		RedirectURL:  redirect,
		OpenURL:      b.open,
		Out:          out,
		Timeout:      10 * time.Second,
	}
}

func TestLoginWithBrowserPKCE(t *testing.T) {
	for _, host := range []string{"localhost", "127.0.0.1"} {
		t.Run(host, func(t *testing.T) {
			srv := newTokenServer(t)
			redirect := freeRedirect(t, host)
			srv.set(func(s *tokenServer) { s.redirectURI = redirect })
			b := newBrowser()
			var out bytes.Buffer
			tok, err := LoginWithBrowser(context.Background(), loginConfig(srv, redirect, b, &out))
			if err != nil {
				t.Fatalf("LoginWithBrowser: %v\noutput:\n%s", err, out.String())
			}
			if tok.RefreshToken == "" || tok.AccessToken == "" {
				t.Fatal("no refresh or access token")
			}
			<-b.done
			if b.err != nil || b.status != 200 || !strings.Contains(b.page, "close this tab") {
				t.Errorf("browser saw status %d, err %v, page %q", b.status, b.err, b.page)
			}
			if !strings.Contains(out.String(), srv.URL+"/oauth2/authorize?") {
				t.Errorf("the authorization URL was not printed:\n%s", out.String())
			}

			// The refresh token from the login works with NewAuthorizationCode.
			f := NewFake()
			f.Set(context.Background(), "default", RefreshTokenName, Secret(tok.RefreshToken))
			if _, err := newAC(t, srv, "default", f).Token(context.Background()); err != nil {
				t.Fatalf("refresh with the login's refresh token: %v", err)
			}
		})
	}
}

func TestLoginWithBrowserIgnoresForgedCallback(t *testing.T) {
	srv := newTokenServer(t)
	redirect := freeRedirect(t, "127.0.0.1")
	srv.set(func(s *tokenServer) { s.redirectURI = redirect })
	b := newBrowser()
	forged := make(chan int, 1)
	b.before = func() {
		resp, err := http.Get(redirect + "?code=attacker-code&state=wrong")
		if err != nil {
			forged <- -1
			return
		}
		resp.Body.Close()
		forged <- resp.StatusCode
	}
	tok, err := LoginWithBrowser(context.Background(), loginConfig(srv, redirect, b, io.Discard))
	if err != nil {
		t.Fatalf("a forged callback broke the login: %v", err)
	}
	if st := <-forged; st != http.StatusBadRequest {
		t.Errorf("forged callback got status %d, want 400", st)
	}
	if tok.RefreshToken == "" {
		t.Error("no refresh token")
	}
}

func TestLoginWithBrowserPortTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
	srv := newTokenServer(t)
	opened := false
	cfg := loginConfig(srv, "http://127.0.0.1:"+port+"/", newBrowser(), io.Discard)
	cfg.OpenURL = func(string) error { opened = true; return nil }
	_, err = LoginWithBrowser(context.Background(), cfg)
	if err == nil {
		t.Fatal("no error with the callback port taken")
	}
	for _, want := range []string{port, "in use", "registered on the app client"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if opened {
		t.Error("the browser was opened although the callback cannot be received")
	}
}

func TestLoginWithBrowserTimeout(t *testing.T) {
	srv := newTokenServer(t)
	cfg := loginConfig(srv, freeRedirect(t, "127.0.0.1"), newBrowser(), io.Discard)
	cfg.OpenURL = nil // nobody logs in
	cfg.Timeout = 100 * time.Millisecond
	start := time.Now()
	_, err := LoginWithBrowser(context.Background(), cfg)
	if !errors.Is(err, ErrLoginTimeout) || !strings.Contains(err.Error(), "100ms") {
		t.Fatalf("err = %v, want ErrLoginTimeout naming the timeout", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("the timeout was not honoured")
	}
}

func TestLoginWithBrowserDenied(t *testing.T) {
	srv := newTokenServer(t)
	redirect := freeRedirect(t, "127.0.0.1")
	srv.set(func(s *tokenServer) { s.redirectURI, s.denyLogin = redirect, true })
	b := newBrowser()
	_, err := LoginWithBrowser(context.Background(), loginConfig(srv, redirect, b, io.Discard))
	if err == nil || !strings.Contains(err.Error(), "access_denied") {
		t.Fatalf("err = %v, want the access_denied refusal", err)
	}
	<-b.done
	if b.status != http.StatusBadRequest || !strings.Contains(b.page, "Login failed") {
		t.Errorf("browser saw %d %q", b.status, b.page)
	}
}

func TestLoginWithBrowserRejectsNonLoopbackRedirect(t *testing.T) {
	for _, u := range []string{"https://localhost:8501/", "http://example.com:8501/", "://bad"} {
		_, err := LoginWithBrowser(context.Background(), LoginConfig{RedirectURL: u, AuthorizeURL: "http://127.0.0.1/a", TokenURL: "http://127.0.0.1/t"})
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("redirect %q: err = %v, want a loopback error", u, err)
		}
	}
}

func TestLoginWithBrowserSendsPKCEAndState(t *testing.T) {
	// The authorize URL itself: S256 challenge, state, the exact redirect.
	redirect := freeRedirect(t, "127.0.0.1")
	seen := make(chan url.Values, 1)
	cfg := LoginConfig{
		AuthorizeURL: "http://127.0.0.1:1/oauth2/authorize", TokenURL: "http://127.0.0.1:1/oauth2/token",
		ClientID: "web-client", Scopes: []string{"openid"}, RedirectURL: redirect,
		OpenURL: func(u string) error { p, _ := url.Parse(u); seen <- p.Query(); return nil },
		Timeout: 50 * time.Millisecond,
	}
	LoginWithBrowser(context.Background(), cfg)
	q := <-seen
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 16 ||
		q.Get("redirect_uri") != redirect || q.Get("response_type") != "code" || q.Get("client_id") != "web-client" {
		t.Errorf("authorize query %v lacks PKCE S256, state or the exact redirect", q)
	}
}

func TestDiscover(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/pool/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"issuer":"https://cognito-idp.us-east-1.amazonaws.com/pool","token_endpoint":"https://d.auth/oauth2/token",
			"authorization_endpoint":"https://d.auth/oauth2/authorize","jwks_uri":"https://cognito-idp.us-east-1.amazonaws.com/pool/.well-known/jwks.json"}`)
	})
	mux.HandleFunc("/empty/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"issuer":"x"}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	d, err := Discover(context.Background(), srv.Client(), srv.URL+"/pool/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	want := Discovery{Issuer: "https://cognito-idp.us-east-1.amazonaws.com/pool", TokenURL: "https://d.auth/oauth2/token",
		AuthorizeURL: "https://d.auth/oauth2/authorize", JWKSURL: "https://cognito-idp.us-east-1.amazonaws.com/pool/.well-known/jwks.json"}
	if *d != want {
		t.Errorf("Discover = %+v, want %+v", *d, want)
	}
	if _, err := Discover(context.Background(), nil, srv.URL+"/empty/.well-known/openid-configuration"); err == nil || !strings.Contains(err.Error(), "token_endpoint") {
		t.Errorf("no token_endpoint: err = %v", err)
	}
	if _, err := Discover(context.Background(), nil, srv.URL+"/missing"); err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Errorf("404: err = %v", err)
	}
}
