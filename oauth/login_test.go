package oauth

import (
	"bytes"
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

	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/agw-proxy/agw-proxy/tokenstore/tokenstoretest"
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
	opened string // the URL it was opened on
	status int
	page   string
	err    error
	before func() // runs before opening, e.g. a forged callback
}

func newBrowser() *browser { return &browser{done: make(chan struct{})} }

func (b *browser) open(u string) error {
	b.opened = u
	go func() {
		defer close(b.done)
		if b.before != nil {
			b.before()
		}
		resp, err := testClient.Get(u)
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
	testwait.NoLeaks(t)
	for _, host := range []string{"localhost", "127.0.0.1"} {
		t.Run(host, func(t *testing.T) {
			srv := newTokenServer(t)
			redirect := freeRedirect(t, host)
			srv.set(func(s *tokenServer) { s.redirectURI = redirect })
			b := newBrowser()
			var out bytes.Buffer
			tok, err := LoginWithBrowser(testwait.Context(t), loginConfig(srv, redirect, b, &out))
			if err != nil {
				t.Fatalf("LoginWithBrowser: %v\noutput:\n%s", err, out.String())
			}
			if tok.RefreshToken == "" || tok.AccessToken == "" {
				t.Fatal("no refresh or access token")
			}
			testwait.Await(t, b.done, "the browser")
			if b.err != nil || b.status != 200 || !strings.Contains(b.page, "close this tab") {
				t.Errorf("browser saw status %d, err %v, page %q", b.status, b.err, b.page)
			}
			if !strings.Contains(out.String(), "\n  "+b.opened+"\n") || !strings.HasPrefix(b.opened, redirect+"agw-proxy-login/") {
				t.Errorf("the one-time URL %q was not printed:\n%s", b.opened, out.String())
			}
			if strings.Contains(out.String(), "state=") || strings.Contains(out.String(), "code_challenge") {
				t.Errorf("the printed instructions hold the state or the PKCE challenge:\n%s", out.String())
			}

			// The refresh token from the login works with NewAuthorizationCode.
			f := tokenstoretest.NewFake()
			f.Set(testwait.Context(t), "default", tokenstore.RefreshTokenName, tokenstore.Secret(tok.RefreshToken))
			if _, err := newAC(t, srv, "default", f).Token(testwait.Context(t)); err != nil {
				t.Fatalf("refresh with the login's refresh token: %v", err)
			}
		})
	}
}

func TestLoginWithBrowserIgnoresForgedCallback(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	redirect := freeRedirect(t, "127.0.0.1")
	srv.set(func(s *tokenServer) { s.redirectURI = redirect })
	b := newBrowser()
	forged := make(chan int, 1)
	b.before = func() {
		resp, err := testClient.Get(redirect + "?code=attacker-code&state=wrong")
		if err != nil {
			forged <- -1
			return
		}
		resp.Body.Close()
		forged <- resp.StatusCode
	}
	tok, err := LoginWithBrowser(testwait.Context(t), loginConfig(srv, redirect, b, io.Discard))
	if err != nil {
		t.Fatalf("a forged callback broke the login: %v", err)
	}
	if st := testwait.Await(t, forged, "the forged callback"); st != http.StatusBadRequest {
		t.Errorf("forged callback got status %d, want 400", st)
	}
	if tok.RefreshToken == "" {
		t.Error("no refresh token")
	}
}

func TestLoginWithBrowserPortTaken(t *testing.T) {
	testwait.NoLeaks(t)
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
	_, err = LoginWithBrowser(testwait.Context(t), cfg)
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
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	cfg := loginConfig(srv, freeRedirect(t, "127.0.0.1"), newBrowser(), io.Discard)
	cfg.OpenURL = nil // nobody logs in
	cfg.Timeout = 100 * time.Millisecond
	start := time.Now()
	_, err := LoginWithBrowser(testwait.Context(t), cfg)
	if !errors.Is(err, ErrLoginTimeout) || !strings.Contains(err.Error(), "100ms") {
		t.Fatalf("err = %v, want ErrLoginTimeout naming the timeout", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("the timeout was not honoured")
	}
}

func TestLoginWithBrowserDenied(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	redirect := freeRedirect(t, "127.0.0.1")
	srv.set(func(s *tokenServer) { s.redirectURI, s.denyLogin = redirect, true })
	b := newBrowser()
	_, err := LoginWithBrowser(testwait.Context(t), loginConfig(srv, redirect, b, io.Discard))
	if err == nil || !strings.Contains(err.Error(), "access_denied") {
		t.Fatalf("err = %v, want the access_denied refusal", err)
	}
	testwait.Await(t, b.done, "the browser")
	if b.status != http.StatusBadRequest || !strings.Contains(b.page, "Login failed") {
		t.Errorf("browser saw %d %q", b.status, b.page)
	}
}

func TestLoginWithBrowserRejectsNonLoopbackRedirect(t *testing.T) {
	testwait.NoLeaks(t)
	for _, u := range []string{"https://localhost:8501/", "http://example.com:8501/", "://bad"} {
		_, err := LoginWithBrowser(testwait.Context(t), LoginConfig{RedirectURL: u, AuthorizeURL: "http://127.0.0.1/a", TokenURL: "http://127.0.0.1/t"})
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("redirect %q: err = %v, want a loopback error", u, err)
		}
	}
}

// noRedirects is an HTTP client that shows redirects instead of following
// them.
var noRedirects = &http.Client{
	Timeout:       5 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// startLogin runs LoginWithBrowser in the background with an opener that
// only records the URL, and returns that URL and the login's outcome.
func startLogin(t *testing.T, cfg LoginConfig) (opened string, result <-chan error) {
	t.Helper()
	urls := make(chan string, 1)
	cfg.OpenURL = func(u string) error { urls <- u; return nil }
	done := make(chan error, 1)
	ctx := testwait.Context(t)
	go func() {
		tok, err := LoginWithBrowser(ctx, cfg)
		if err == nil && tok.RefreshToken == "" {
			err = errors.New("no refresh token")
		}
		done <- err
	}()
	select {
	case u := <-urls:
		return u, done
	case err := <-done:
		t.Fatalf("the login ended before opening a browser: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("the browser was not opened")
	}
	return "", nil
}

func wantLoginResult(t *testing.T, result <-chan error) error {
	t.Helper()
	select {
	case err := <-result:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the login did not end")
	}
	return nil
}

func getStatus(t *testing.T, method, u string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

// TestLoginWithBrowserOpensAOneTimeURL: the browser is opened on a loopback
// URL without the state or the PKCE challenge; its first GET redirects to
// the authorization URL, which carries them (S256, state, the exact
// redirect); wrong tokens and other methods are not found and do not use
// it up.
func TestLoginWithBrowserOpensAOneTimeURL(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	redirect := freeRedirect(t, "127.0.0.1")
	srv.set(func(s *tokenServer) { s.redirectURI = redirect })
	opened, result := startLogin(t, loginConfig(srv, redirect, newBrowser(), io.Discard))

	if !strings.HasPrefix(opened, redirect+"agw-proxy-login/") || strings.ContainsAny(opened, "?#") ||
		strings.Contains(opened, "state") || strings.Contains(opened, "code_challenge") {
		t.Errorf("the browser was opened on %q, want a one-time loopback URL without a query", opened)
	}
	token := strings.TrimPrefix(opened, redirect+"agw-proxy-login/")
	if len(token) < 32 {
		t.Errorf("the one-time URL's token %q is too short to be unguessable", token)
	}
	for _, bad := range []string{redirect + "agw-proxy-login/" + strings.Repeat("A", len(token)), opened + "x", opened[:len(opened)-1], redirect + "agw-proxy-login/", redirect + "other"} {
		if st, _, _ := getStatus(t, http.MethodGet, bad); st != http.StatusNotFound {
			t.Errorf("GET %s: HTTP %d, want 404", bad, st)
		}
	}
	for _, m := range []string{http.MethodHead, http.MethodPost} {
		if st, _, _ := getStatus(t, m, opened); st != http.StatusNotFound {
			t.Errorf("%s of the one-time URL: HTTP %d, want 404", m, st)
		}
	}

	st, h, _ := getStatus(t, http.MethodGet, opened)
	if st != http.StatusSeeOther && st != http.StatusFound {
		t.Fatalf("first GET of the one-time URL: HTTP %d, want a redirect", st)
	}
	if h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("the redirect may be cached or leak a referrer: %v", h)
	}
	loc, err := url.Parse(h.Get("Location"))
	if err != nil || loc.Scheme+"://"+loc.Host+loc.Path != srv.URL+"/oauth2/authorize" {
		t.Fatalf("redirect to %q, want the authorization URL", h.Get("Location"))
	}
	q := loc.Query()
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 16 ||
		q.Get("redirect_uri") != redirect || q.Get("response_type") != "code" || q.Get("client_id") != srv.clientID {
		t.Errorf("authorize query %v lacks PKCE S256, state or the exact redirect", q)
	}

	// The browser goes on to the authorization server, which redirects it
	// to the callback.
	resp, err := testClient.Get(loc.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "agw-proxy is logged in") {
		t.Errorf("callback page: HTTP %d %q", resp.StatusCode, body)
	}
	if err := wantLoginResult(t, result); err != nil {
		t.Fatalf("login: %v", err)
	}
}

// TestLoginWithBrowserOneTimeURLWorksOnce: a second GET of the one-time URL
// is not found, and ends the login: the URL reached someone else, who now
// knows the state and the challenge.
func TestLoginWithBrowserOneTimeURLWorksOnce(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	redirect := freeRedirect(t, "127.0.0.1")
	srv.set(func(s *tokenServer) { s.redirectURI = redirect })
	opened, result := startLogin(t, loginConfig(srv, redirect, newBrowser(), io.Discard))

	st, h, _ := getStatus(t, http.MethodGet, opened) // another program, first
	if st != http.StatusSeeOther {
		t.Fatalf("first GET: HTTP %d, want 303", st)
	}
	st, _, page := getStatus(t, http.MethodGet, opened) // the user's browser
	if st != http.StatusNotFound || !strings.Contains(page, "already used") {
		t.Errorf("second GET: HTTP %d %q, want 404 saying the link was used", st, page)
	}
	err := wantLoginResult(t, result)
	if !errors.Is(err, ErrLoginURLReused) || !strings.Contains(err.Error(), "run the login again") {
		t.Fatalf("login: err = %v, want ErrLoginURLReused", err)
	}
	// The one who took the URL first cannot complete the login now.
	forged := redirect + "?code=attacker-code&state=" + url.QueryEscape(mustQuery(t, h.Get("Location")).Get("state"))
	if resp, err := testClient.Get(forged); err == nil {
		resp.Body.Close()
		t.Errorf("the callback listener still answers after the login ended (HTTP %d)", resp.StatusCode)
	}
}

func mustQuery(t *testing.T, u string) url.Values {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Query()
}

func TestDiscover(t *testing.T) {
	testwait.NoLeaks(t)
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

	d, err := Discover(testwait.Context(t), srv.Client(), srv.URL+"/pool/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	want := Discovery{Issuer: "https://cognito-idp.us-east-1.amazonaws.com/pool", TokenURL: "https://d.auth/oauth2/token",
		AuthorizeURL: "https://d.auth/oauth2/authorize", JWKSURL: "https://cognito-idp.us-east-1.amazonaws.com/pool/.well-known/jwks.json"}
	if *d != want {
		t.Errorf("Discover = %+v, want %+v", *d, want)
	}
	if _, err := Discover(testwait.Context(t), nil, srv.URL+"/empty/.well-known/openid-configuration"); err == nil || !strings.Contains(err.Error(), "token_endpoint") {
		t.Errorf("no token_endpoint: err = %v", err)
	}
	if _, err := Discover(testwait.Context(t), nil, srv.URL+"/missing"); err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Errorf("404: err = %v", err)
	}
}

// TestLoginCallbackBeforeTheOneTimeURLIsRefused: even with the right state,
// a callback before the browser was sent on its way is not the browser's.
func TestLoginCallbackBeforeTheOneTimeURLIsRefused(t *testing.T) {
	testwait.NoLeaks(t)
	l, err := newBrowserLogin(LoginConfig{AuthorizeURL: "http://127.0.0.1:1/oauth2/authorize", TokenURL: "http://127.0.0.1:1/oauth2/token",
		ClientID: "web-client", RedirectURL: "http://localhost:8501/cb"})
	if err != nil {
		t.Fatal(err)
	}
	callback := "/cb?code=c&state=" + url.QueryEscape(l.state)
	rec := httptest.NewRecorder()
	l.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, callback, nil))
	if rec.Code != http.StatusBadRequest || len(l.results) != 0 {
		t.Errorf("callback before the one-time URL: HTTP %d, %d results; want 400 and none", rec.Code, len(l.results))
	}
	rec = httptest.NewRecorder()
	l.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, l.startPath, nil))
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != l.authURL {
		t.Fatalf("one-time URL: HTTP %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	rec = httptest.NewRecorder()
	l.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, callback, nil))
	if rec.Code != http.StatusOK || len(l.results) != 1 {
		t.Errorf("callback after it: HTTP %d, %d results; want 200 and one", rec.Code, len(l.results))
	}
}
