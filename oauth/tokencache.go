package oauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"golang.org/x/oauth2"

	"github.com/agw-proxy/agw-proxy/internal/httpguard"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// timeNow is the clock; tests replace it.
var timeNow = time.Now

// ErrTokenEndpoint reports that the token endpoint could not be reached or
// failed (network error, HTTP 5xx or 429, garbage) even after retries. The
// stored credential is left alone: this is not a logout.
var ErrTokenEndpoint = errors.New("oauth: token endpoint unavailable")

// ErrTokenRejected reports that the token endpoint refused the request for a
// reason a new login does not fix (invalid_scope, unauthorized_client,
// unsupported_grant_type, invalid_request), or answered it with a redirect,
// which is never followed: a configuration problem.
var ErrTokenRejected = errors.New("oauth: token endpoint refused the request")

// Defaults for TokenCache.
const (
	// DefaultFetchTimeout bounds one token fetch, retries included.
	DefaultFetchTimeout = 30 * time.Second
	// maxSkew caps how long before expiry a token is refreshed; a token is
	// refreshed when a tenth of its lifetime or maxSkew is left, whichever
	// is less.
	maxSkew = 60 * time.Second
	// failPause spaces background refreshes after one failed while the
	// cached token is still usable.
	failPause = 5 * time.Second
	// fetchAttempts and the backoff bound the retries of transient
	// token-endpoint failures within one fetch.
	fetchAttempts = 4
	backoffBase   = 250 * time.Millisecond
	backoffCap    = 2 * time.Second
)

// TokenCache gets, caches and refreshes OAuth access tokens (the Gateway's).
// It is a go-sdk auth.OAuthHandler, for an MCP client transport:
// TokenSource supplies tokens, and after a 401 or 403 Authorize drops the
// cached token and fetches a new one (reading the stored credential again,
// so a login done in another terminal heals a running proxy), and the
// transport retries once.
//
// Tokens are refreshed early (when a tenth of their lifetime or 60 s is
// left), one fetch at a time, on a context of their own: a cancelled request
// does not cancel a fetch that other requests wait for. Expiry is computed
// from expires_in on the local clock, so a skewed local clock does not matter.
//
// Make one with NewClientCredentials or NewAuthorizationCode. It is safe for
// concurrent use.
type TokenCache struct {
	// OnToken, if set, is called with every new access token before it is
	// used (the proxy adds it to its scrubber). Calls never overlap; it
	// must not block.
	OnToken func(tokenstore.Secret)

	// fetch gets a new token: one attempt, reading the stored credential.
	// It returns errors from tokenError or the Secrets.
	fetch        func(ctx context.Context) (*oauth2.Token, error)
	fetchTimeout time.Duration
	backoff      time.Duration // first retry delay; tests shorten it

	mu       sync.Mutex
	tok      *oauth2.Token // without refresh token or extras
	issued   time.Time     // when tok arrived, for its lifetime
	flight   *flight       // the fetch in progress, if any
	failedAt time.Time     // when the last background refresh failed
}

var _ auth.OAuthHandler = (*TokenCache)(nil)

// flight is one fetch that any number of callers wait for.
type flight struct {
	done chan struct{}
	tok  *oauth2.Token
	err  error
}

func newTokenCache(fetch func(context.Context) (*oauth2.Token, error)) *TokenCache {
	return &TokenCache{fetch: fetch, fetchTimeout: DefaultFetchTimeout, backoff: backoffBase}
}

// TokenSource returns a source of valid access tokens backed by g's cache.
// ctx bounds only how long a Token call waits, never the fetch itself.
func (g *TokenCache) TokenSource(ctx context.Context) (oauth2.TokenSource, error) {
	return tokenSource{g: g, ctx: ctx}, nil
}

type tokenSource struct {
	g   *TokenCache
	ctx context.Context
}

func (s tokenSource) Token() (*oauth2.Token, error) { return s.g.Token(s.ctx) }

// Token returns a valid access token, from the cache when it is fresh,
// otherwise after a fetch. The returned token carries no refresh token.
// Errors are a *LoginError (wrapping tokenstore.ErrLoginNeeded), or wrap
// ErrTokenEndpoint, ErrTokenRejected, a keychain error (tokenstore.ErrTimeout,
// tokenstore.ErrLocked, ...) or ctx's error.
func (g *TokenCache) Token(ctx context.Context) (*oauth2.Token, error) {
	g.mu.Lock()
	now := timeNow()
	if g.tok != nil {
		switch g.freshness(now) {
		case fresh:
			t := *g.tok
			g.mu.Unlock()
			return &t, nil
		case stale:
			if g.flight == nil && now.Sub(g.failedAt) >= failPause {
				g.startLocked()
			}
			t := *g.tok
			g.mu.Unlock()
			return &t, nil
		}
	}
	f := g.startLocked()
	g.mu.Unlock()
	select {
	case <-f.done:
		if f.err != nil {
			return nil, f.err
		}
		t := *f.tok
		return &t, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("oauth: waiting for a gateway token: %w", ctx.Err())
	}
}

// Expiry returns when the cached access token expires; zero when none is
// cached.
func (g *TokenCache) Expiry() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.tok == nil {
		return time.Time{}
	}
	return g.tok.Expiry
}

// Authorize handles a 401 or 403 from the Gateway: it closes resp.Body,
// drops the cached token if the failed request used it, and fetches a new
// one. It returns nil when a new token is ready for the transport's retry;
// otherwise the fetch error (a *LoginError, or ErrTokenEndpoint after the
// fetch's own retries), since retrying the request could not help.
func (g *TokenCache) Authorize(ctx context.Context, req *http.Request, resp *http.Response) error {
	if resp != nil && resp.Body != nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		resp.Body.Close()
	}
	var used string
	if req != nil {
		used = strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
	}
	g.mu.Lock()
	// When many requests fail with the same token at once, only the first
	// drops it; the others find a newer token and just retry.
	if g.tok != nil && (used == "" || used == g.tok.AccessToken) {
		g.tok = nil
	}
	g.mu.Unlock()
	_, err := g.Token(ctx)
	return err
}

// Rejected handles a token that its audience rejected without an HTTP
// answer of the cache's own (a downstream API's 401, reported inside a
// tool result): it drops the cached token if it is used, and fetches a new
// one, which it returns. When many callers report the same token at once,
// only the first drops it; the others get the newer token.
func (g *TokenCache) Rejected(ctx context.Context, used tokenstore.Secret) (*oauth2.Token, error) {
	g.mu.Lock()
	if g.tok != nil && (used == "" || string(used) == g.tok.AccessToken) {
		g.tok = nil
	}
	g.mu.Unlock()
	return g.Token(ctx)
}

type freshState int

const (
	fresh   freshState = iota // use it
	stale                     // use it, and refresh in the background
	expired                   // wait for a new one
)

func (g *TokenCache) freshness(now time.Time) freshState {
	exp := g.tok.Expiry
	if exp.IsZero() {
		return fresh
	}
	skew := min(maxSkew, exp.Sub(g.issued)/10)
	switch {
	case now.Before(exp.Add(-skew)):
		return fresh
	case now.Before(exp.Add(-skew / 4)):
		return stale
	}
	return expired
}

// startLocked returns the fetch in progress, starting one if needed.
// g.mu must be held.
func (g *TokenCache) startLocked() *flight {
	if g.flight != nil {
		return g.flight
	}
	f := &flight{done: make(chan struct{})}
	g.flight = f
	go g.run(f)
	return f
}

func (g *TokenCache) run(f *flight) {
	ctx, cancel := context.WithTimeout(context.Background(), g.fetchTimeout)
	defer cancel()
	tok, err := g.fetchWithRetry(ctx)
	var issued time.Time
	if err == nil {
		issued = timeNow()
		tok = &oauth2.Token{AccessToken: tok.AccessToken, TokenType: tok.TokenType, Expiry: localExpiry(tok, issued)}
		if g.OnToken != nil {
			g.OnToken(tokenstore.Secret(tok.AccessToken))
		}
	}
	g.mu.Lock()
	if err == nil {
		g.tok, g.issued, g.failedAt = tok, issued, time.Time{}
	} else {
		g.failedAt = timeNow()
	}
	g.flight = nil
	g.mu.Unlock()
	f.tok, f.err = tok, err
	close(f.done)
}

// localExpiry returns when tok expires on timeNow's clock: issued plus
// expires_in (the oauth2 package computes Expiry with time.Now, and
// clientcredentials drops ExpiresIn).
func localExpiry(tok *oauth2.Token, issued time.Time) time.Time {
	secs := tok.ExpiresIn
	if secs <= 0 {
		switch v := tok.Extra("expires_in").(type) {
		case float64:
			secs = int64(v)
		case string:
			secs, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	switch {
	case secs > 0:
		return issued.Add(time.Duration(secs) * time.Second)
	case tok.Expiry.IsZero():
		return time.Time{}
	}
	return issued.Add(time.Until(tok.Expiry))
}

// fetchWithRetry retries transient token-endpoint failures with a capped
// exponential backoff, within ctx.
func (g *TokenCache) fetchWithRetry(ctx context.Context) (*oauth2.Token, error) {
	delay := g.backoff
	for attempt := 1; ; attempt++ {
		tok, err := g.fetch(ctx)
		if err == nil {
			if tok == nil || tok.AccessToken == "" {
				return nil, fmt.Errorf("%w: the response carried no access token", ErrTokenEndpoint)
			}
			return tok, nil
		}
		if !errors.Is(err, ErrTokenEndpoint) || attempt == fetchAttempts {
			return nil, err
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, err
		}
		delay = min(2*delay, backoffCap)
	}
}

// LoginError reports that only a new login helps: the stored credential of
// Profile is missing or empty, or the token endpoint rejected it
// (invalid_grant, invalid_client). It wraps tokenstore.ErrLoginNeeded. Its
// text says for which profile and why, never what to run: that is the
// caller's to say, since only the caller knows its own command line.
type LoginError struct {
	Profile string // the profile whose credential is missing or rejected
	Reason  string // why, for a person: "no refresh token stored"
	// Login is "" for the Gateway's login, else the name of the inject
	// rule's secret whose login is needed (Config.Login).
	Login string
}

// Error says for which profile a login is needed, and why.
func (e *LoginError) Error() string {
	if e.Login != "" {
		return fmt.Sprintf("oauth: login for %q needed for profile %q: %s", e.Login, e.Profile, e.Reason)
	}
	return fmt.Sprintf("oauth: gateway login needed for profile %q: %s", e.Profile, e.Reason)
}

// Unwrap returns tokenstore.ErrLoginNeeded.
func (e *LoginError) Unwrap() error { return tokenstore.ErrLoginNeeded }

// tokenError maps an error from the oauth2 package to the package's errors,
// keeping only the OAuth error code and status from the response (never its
// body, which could echo a credential).
func tokenError(err error, profile string, loginNeeded func(code string) string) error {
	var redirect *httpguard.RedirectError
	if errors.As(err, &redirect) {
		// A configuration problem (the URL is not the token endpoint
		// itself), not an outage: no retry helps.
		return fmt.Errorf("%w: %w", ErrTokenRejected, err)
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		code := oauthCode(re.ErrorCode)
		switch {
		case code == "invalid_grant" || code == "invalid_client":
			return &LoginError{Profile: profile, Reason: loginNeeded(code)}
		case status >= 500 || status == http.StatusTooManyRequests || status == 0 || (status >= 200 && status < 300):
			return fmt.Errorf("%w: HTTP %d%s", ErrTokenEndpoint, status, withCode(code))
		default:
			return fmt.Errorf("%w: HTTP %d%s", ErrTokenRejected, status, withCode(code))
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrTokenEndpoint, err)
	}
	// Network errors name the token URL, which holds no secret.
	return fmt.Errorf("%w: %w", ErrTokenEndpoint, err)
}

func withCode(code string) string {
	if code == "" {
		return ""
	}
	return " (" + code + ")"
}

// oauthCode returns code if it looks like an RFC 6749 error code, else "".
func oauthCode(code string) string {
	if len(code) == 0 || len(code) > 64 {
		return ""
	}
	for _, r := range code {
		if !(r >= 'a' && r <= 'z' || r == '_' || r >= 'A' && r <= 'Z') {
			return ""
		}
	}
	return code
}

// readCredential reads the stored credential that fetches need, mapping
// "not stored" to a *LoginError.
func readCredential(ctx context.Context, s tokenstore.Secrets, profile, name, what string) (tokenstore.Secret, error) {
	if s == nil {
		return "", &LoginError{Profile: profile, Reason: "no " + what + " stored"}
	}
	v, err := s.Get(ctx, profile, name)
	if errors.Is(err, tokenstore.ErrNotFound) {
		return "", &LoginError{Profile: profile, Reason: "no " + what + " stored"}
	}
	if err != nil {
		return "", fmt.Errorf("oauth: reading the %s: %w", what, err)
	}
	if v == "" {
		return "", &LoginError{Profile: profile, Reason: "the stored " + what + " is empty"}
	}
	return v, nil
}

// withHTTPClient makes the oauth2 package use c (nil: its default).
func withHTTPClient(ctx context.Context, c *http.Client) context.Context {
	if c == nil {
		return ctx
	}
	return context.WithValue(ctx, oauth2.HTTPClient, c)
}

func isLoginNeeded(err error) bool { return errors.Is(err, tokenstore.ErrLoginNeeded) }
