package oauth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/oauth2"

	"github.com/agw-proxy/agw-proxy/internal/httpguard"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// Discovery is what LoginWithBrowser and the token sources need from an
// OpenID Connect discovery document.
type Discovery struct {
	Issuer       string // issuer
	TokenURL     string // token_endpoint
	AuthorizeURL string // authorization_endpoint
	JWKSURL      string // jwks_uri
}

// Discover fetches the OpenID Connect discovery document at discoveryURL
// (Cognito: https://cognito-idp.{region}.amazonaws.com/{pool}/.well-known/openid-configuration).
// httpClient nil means http.DefaultClient; a guarded copy is used
// (internal/httpguard): a redirect to another origin is an error, and the
// document is read up to 1 MiB.
func Discover(ctx context.Context, httpClient *http.Client, discoveryURL string) (*Discovery, error) {
	httpClient = httpguard.Client(httpClient)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, discoveryURL, nil)
	if err != nil {
		return nil, fmt.Errorf("oauth: discovery URL: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("oauth: fetching the discovery document: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("oauth: fetching the discovery document %s: HTTP %d", discoveryURL, resp.StatusCode)
	}
	var doc struct {
		Issuer                string `json:"issuer"`
		TokenEndpoint         string `json:"token_endpoint"`
		AuthorizationEndpoint string `json:"authorization_endpoint"`
		JWKSURI               string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("oauth: the discovery document at %s is not valid JSON: %w", discoveryURL, err)
	}
	if doc.TokenEndpoint == "" {
		return nil, fmt.Errorf("oauth: the discovery document at %s has no token_endpoint", discoveryURL)
	}
	return &Discovery{Issuer: doc.Issuer, TokenURL: doc.TokenEndpoint, AuthorizeURL: doc.AuthorizationEndpoint, JWKSURL: doc.JWKSURI}, nil
}

// DefaultLoginTimeout bounds LoginWithBrowser when LoginConfig.Timeout is
// zero.
const DefaultLoginTimeout = 5 * time.Minute

// LoginConfig configures LoginWithBrowser.
type LoginConfig struct {
	AuthorizeURL string // Cognito …/oauth2/authorize
	TokenURL     string // Cognito …/oauth2/token
	ClientID     string // the public app client with the code flow
	// ClientSecret is sent with the code exchange when not empty (a
	// confidential app of a downstream API); the Gateway's is public.
	ClientSecret tokenstore.Secret
	Scopes       []string // e.g. openid plus the Gateway's resource server scope
	// RedirectURL is the callback URL registered on the app client, e.g.
	// http://localhost:8501/. It must be http on a loopback host; the
	// flow listens on exactly its host and port, since Cognito matches
	// callback URLs exactly.
	RedirectURL string
	// OpenURL opens the login's one-time URL in a browser: a loopback URL
	// on RedirectURL's listener that answers its first GET with a redirect
	// to the authorization URL. It holds neither the state nor the PKCE
	// challenge, so whatever sees the opener's arguments learns nothing
	// that completes a login. nil or an error leaves the user to open the
	// printed URL.
	OpenURL func(string) error
	// Out receives the instructions (the URL to open); nil discards them.
	Out io.Writer
	// Timeout bounds the whole login; zero means DefaultLoginTimeout.
	Timeout time.Duration
	// HTTPClient makes the code exchange; nil means http.DefaultClient. A
	// guarded copy is used (internal/httpguard): a redirect of the
	// exchange is an error.
	HTTPClient *http.Client
	// AuthStyle for the code exchange; zero means client_id in the body.
	AuthStyle oauth2.AuthStyle
}

// ErrLoginTimeout reports that the browser login did not complete in time.
var ErrLoginTimeout = errors.New("oauth: browser login timed out")

// ErrLoginURLReused reports that the one-time login URL was requested a
// second time: it reached someone besides the browser (another program may
// have read it from the opener's arguments), so the login is abandoned
// rather than accept a callback that may not be the user's.
var ErrLoginURLReused = errors.New("oauth: the one-time login URL was opened a second time")

// loginStartPrefix begins the path of the one-time URL, on the callback's
// listener.
const loginStartPrefix = "/agw-proxy-login/"

// LoginWithBrowser runs the OAuth authorization code flow with PKCE (S256)
// and state: it listens on RedirectURL, has the user open a one-time URL
// that redirects to the authorization URL, checks the callback and
// exchanges the code. The caller stores the returned token's RefreshToken
// (only it: the access token is short-lived and the keychain entry must
// stay small).
func LoginWithBrowser(ctx context.Context, cfg LoginConfig) (*oauth2.Token, error) {
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultLoginTimeout
	}
	out := cfg.Out
	if out == nil {
		out = io.Discard
	}
	l, err := newBrowserLogin(cfg)
	if err != nil {
		return nil, err
	}
	listeners, err := listenLoopback(l.host, l.port)
	if err != nil {
		return nil, err
	}
	defer l.serve(listeners)()

	fmt.Fprintf(out, "Open this URL in your browser to log in:\n\n  %s\n\n", l.startURL)
	if cfg.OpenURL != nil {
		if err := cfg.OpenURL(l.startURL); err != nil {
			fmt.Fprintf(out, "Could not open a browser (%v); open the URL above yourself.\n", err)
		}
	}
	fmt.Fprintf(out, "Waiting for the login to finish (up to %s)...\n", timeout)

	code, err := l.wait(ctx, timeout)
	if err != nil {
		return nil, err
	}
	return l.exchange(ctx, cfg.HTTPClient, code)
}

// browserLogin is one login in progress: what the loopback listener serves
// and what the code exchange needs.
type browserLogin struct {
	conf        *oauth2.Config
	redirectURL string
	host, port  string // of the redirect URL: where to listen
	callback    string // the redirect URL's path
	verifier    string // PKCE
	state       string
	authURL     string // the authorization URL, with state and challenge: sent only as a redirect
	startPath   string // the one-time URL's path, with its random token
	startURL    string // what the browser is opened on
	startUsed   atomic.Bool
	results     chan callbackResult // holds the first result only
}

type callbackResult struct {
	code string
	err  error
}

// newBrowserLogin checks cfg and prepares the login's secrets and URLs.
func newBrowserLogin(cfg LoginConfig) (*browserLogin, error) {
	redirect, err := url.Parse(cfg.RedirectURL)
	if err != nil || redirect.Scheme != "http" || !isLoopbackHost(redirect.Hostname()) {
		return nil, fmt.Errorf("oauth: redirect URL %q must be an http URL on localhost or a loopback address", cfg.RedirectURL)
	}
	if cfg.AuthorizeURL == "" || cfg.TokenURL == "" {
		return nil, errors.New("oauth: the browser login needs both an authorize URL and a token URL")
	}
	style := cfg.AuthStyle
	if style == oauth2.AuthStyleAutoDetect {
		style = oauth2.AuthStyleInParams
	}
	l := &browserLogin{
		conf: &oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: string(cfg.ClientSecret),
			Endpoint:     oauth2.Endpoint{AuthURL: cfg.AuthorizeURL, TokenURL: cfg.TokenURL, AuthStyle: style},
			RedirectURL:  cfg.RedirectURL,
			Scopes:       cfg.Scopes,
		},
		redirectURL: cfg.RedirectURL,
		host:        redirect.Hostname(),
		port:        redirect.Port(),
		callback:    redirect.Path,
		verifier:    oauth2.GenerateVerifier(),
		state:       randomState(),
		startPath:   loginStartPrefix + randomState(),
		results:     make(chan callbackResult, 1),
	}
	if l.port == "" {
		l.port = "80"
	}
	if l.callback == "" {
		l.callback = "/"
	}
	l.authURL = l.conf.AuthCodeURL(l.state, oauth2.S256ChallengeOption(l.verifier))
	l.startURL = (&url.URL{Scheme: "http", Host: redirect.Host, Path: l.startPath}).String()
	return l, nil
}

// serve serves the one-time URL and the callback on listeners; the returned
// func stops it.
func (l *browserLogin) serve(listeners []net.Listener) (stop func()) {
	srv := &http.Server{Handler: l, ReadHeaderTimeout: 10 * time.Second}
	for _, ln := range listeners {
		go srv.Serve(ln)
	}
	return func() {
		// Let the callback's page finish; then close whatever is left.
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	}
}

func (l *browserLogin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == l.callback:
		l.serveCallback(w, r)
	case strings.HasPrefix(r.URL.Path, loginStartPrefix):
		l.serveStart(w, r)
	default:
		http.NotFound(w, r)
	}
}

// serveStart answers the one-time URL: its first GET is redirected to the
// authorization URL; a wrong token is not found; a second GET is not found
// either, and ends the login (ErrLoginURLReused).
func (l *browserLogin) serveStart(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || subtle.ConstantTimeCompare([]byte(r.URL.Path), []byte(l.startPath)) != 1 {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if !l.startUsed.CompareAndSwap(false, true) {
		writePage(w, http.StatusNotFound, "Login link already used",
			"This login link works once and was already opened, maybe by another program; the login was cancelled. Run the login again.")
		l.report(callbackResult{err: fmt.Errorf("%w, so it may have reached another program; nothing was stored: run the login again, and open its URL once", ErrLoginURLReused)})
		return
	}
	http.Redirect(w, r, l.authURL, http.StatusSeeOther)
}

// serveCallback checks the authorization server's redirect back.
func (l *browserLogin) serveCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	// A request without our state, or before our browser was sent on its
	// way, is not the browser we sent: refuse it and keep waiting, so a
	// stray or forged request cannot end the login.
	if got := q.Get("state"); !l.startUsed.Load() || subtle.ConstantTimeCompare([]byte(got), []byte(l.state)) != 1 {
		http.Error(w, "agw-proxy: this login request does not match the one in progress (state mismatch)", http.StatusBadRequest)
		return
	}
	var res callbackResult
	if e := q.Get("error"); e != "" {
		res.err = fmt.Errorf("oauth: the authorization server refused the login: %s%s", oauthCodeOr(e), describe(q.Get("error_description")))
		writePage(w, http.StatusBadRequest, "Login failed", "The authorization server refused the login ("+oauthCodeOr(e)+"). You can close this tab and check the terminal.")
	} else if res.code = q.Get("code"); res.code == "" {
		res.err = errors.New("oauth: the login callback carried no authorization code")
		writePage(w, http.StatusBadRequest, "Login failed", "The callback carried no authorization code. You can close this tab and check the terminal.")
	} else {
		writePage(w, http.StatusOK, "Logged in", "agw-proxy is logged in. You can close this tab.")
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush() // the page reaches the browser before the server stops
	}
	l.report(res)
}

// report hands the first result to wait; later ones are dropped.
func (l *browserLogin) report(res callbackResult) {
	select {
	case l.results <- res:
	default:
	}
}

// wait returns the callback's code, or why there is none.
func (l *browserLogin) wait(ctx context.Context, timeout time.Duration) (string, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case res := <-l.results:
		return res.code, res.err
	case <-timer.C:
		return "", fmt.Errorf("%w: no callback on %s within %s; run the login again and finish it in the browser", ErrLoginTimeout, l.redirectURL, timeout)
	case <-ctx.Done():
		return "", fmt.Errorf("oauth: browser login: %w", ctx.Err())
	}
}

// exchange trades the code (and the PKCE verifier) for tokens.
func (l *browserLogin) exchange(ctx context.Context, client *http.Client, code string) (*oauth2.Token, error) {
	xctx, cancel := context.WithTimeout(ctx, DefaultFetchTimeout)
	defer cancel()
	tok, err := l.conf.Exchange(withHTTPClient(xctx, httpguard.Client(client)), code, oauth2.VerifierOption(l.verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			status := 0
			if re.Response != nil {
				status = re.Response.StatusCode
			}
			err := fmt.Errorf("oauth: exchanging the authorization code: HTTP %d%s", status, withCode(oauthCode(re.ErrorCode)))
			if re.ErrorCode == "invalid_client" {
				return nil, &clientRejectedError{err}
			}
			return nil, err
		}
		return nil, fmt.Errorf("oauth: exchanging the authorization code: %w", err)
	}
	return tok, nil
}

// ErrClientRejected is what a login's error Is when the token endpoint
// refused the client's authentication (invalid_client): a wrong client
// secret, none for an app that has one, or one for a public app whose
// provider refuses client authentication.
var ErrClientRejected = errors.New("oauth: the token endpoint refused the client (invalid_client)")

type clientRejectedError struct{ err error }

func (e *clientRejectedError) Error() string        { return e.err.Error() }
func (e *clientRejectedError) Unwrap() error        { return e.err }
func (e *clientRejectedError) Is(target error) bool { return target == ErrClientRejected }

// listenLoopback listens on host:port; for "localhost" on both 127.0.0.1 and
// ::1 (browsers may use either), needing at least the IPv4 one.
func listenLoopback(host, port string) ([]net.Listener, error) {
	hosts := []string{host}
	if strings.EqualFold(host, "localhost") {
		hosts = []string{"127.0.0.1", "::1"}
	}
	var ls []net.Listener
	for i, h := range hosts {
		l, err := net.Listen("tcp", net.JoinHostPort(h, port))
		if err != nil {
			if i > 0 && !errors.Is(err, syscall.EADDRINUSE) {
				continue // no IPv6 loopback here: IPv4 alone will do
			}
			for _, l := range ls {
				l.Close()
			}
			if errors.Is(err, syscall.EADDRINUSE) {
				return nil, fmt.Errorf("oauth: port %s on %s is in use, so the login cannot receive its callback; free the port (the redirect URL must stay the callback URL registered on the app client, so another port only works if it is registered too)", port, h)
			}
			return nil, fmt.Errorf("oauth: cannot listen on %s for the login callback (the redirect URL must be the callback URL registered on the app client): %w", net.JoinHostPort(h, port), err)
		}
		ls = append(ls, l)
	}
	return ls, nil
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func randomState() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// oauthCodeOr returns the error code, or a neutral word if it is not one.
func oauthCodeOr(code string) string {
	if c := oauthCode(code); c != "" {
		return c
	}
	return "unknown error"
}

// describe quotes an error_description, short and printable only.
func describe(d string) string {
	if d == "" {
		return ""
	}
	if len(d) > 200 {
		d = d[:200]
	}
	return ": " + strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, d)
}

func writePage(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><meta charset=utf-8><title>agw-proxy: %s</title><body style=\"font-family:sans-serif;margin:3em\"><h1>%s</h1><p>%s</p></body>\n",
		html.EscapeString(title), html.EscapeString(title), html.EscapeString(text))
}
