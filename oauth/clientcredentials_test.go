package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/agw-proxy/agw-proxy/tokenstore/tokenstoretest"
)

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// fakeClock replaces timeNow for one test.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func setClock(t *testing.T) *fakeClock {
	c := &fakeClock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	old := timeNow
	timeNow = c.Now
	t.Cleanup(func() { timeNow = old })
	return c
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newCC(t *testing.T, srv *tokenServer, profile string) (*TokenCache, *tokenstoretest.Fake) {
	t.Helper()
	f := tokenstoretest.NewFake()
	if err := f.Set(testwait.Context(t), profile, tokenstore.ClientSecretName, tokenstore.Secret(srv.clientSecret)); err != nil {
		t.Fatal(err)
	}
	g := NewClientCredentials(Config{
		TokenURL: srv.URL, ClientID: srv.clientID, Scopes: []string{"gw/read"},
		Secrets: f, Profile: profile, HTTPClient: srv.Client(),
		AuthStyle: oauth2.AuthStyleInHeader, // one request per attempt, so counts are exact
	})
	g.backoff = 5 * time.Millisecond
	return g, f
}

func TestClientCredentialsCachesWithOneFetch(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	g, _ := newCC(t, srv, "default")
	var (
		mu     sync.Mutex
		tokens = map[string]int{}
		wg     sync.WaitGroup
	)
	ts, _ := g.TokenSource(testwait.Context(t))
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := ts.Token()
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			tokens[tok.AccessToken]++
			mu.Unlock()
		}()
	}
	testwait.WaitAll(t, &wg, "50 concurrent Token calls")
	if n := srv.requests.Load(); n != 1 {
		t.Errorf("%d token requests for 50 concurrent callers, want 1", n)
	}
	if len(tokens) != 1 {
		t.Errorf("callers got %d different tokens, want 1", len(tokens))
	}
	if g.Expiry().IsZero() {
		t.Error("Expiry is zero after a fetch")
	}
}

func TestClientCredentialsBothAuthStyles(t *testing.T) {
	testwait.NoLeaks(t)
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams, oauth2.AuthStyleAutoDetect} {
		srv := newTokenServer(t)
		f := tokenstoretest.NewFake()
		f.Set(testwait.Context(t), "default", tokenstore.ClientSecretName, tokenstore.Secret(srv.clientSecret))
		g := NewClientCredentials(Config{TokenURL: srv.URL, ClientID: srv.clientID, Secrets: f, AuthStyle: style})
		if _, err := g.Token(testwait.Context(t)); err != nil {
			t.Errorf("auth style %d: %v", style, err)
		}
	}
}

func TestOnTokenSeesEveryNewToken(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	g, _ := newCC(t, srv, "default")
	var seen []tokenstore.Secret
	g.OnToken = func(s tokenstore.Secret) { seen = append(seen, s) } // flights are serial
	tok1, err := g.Token(testwait.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", "http://127.0.0.1/mcp", nil)
	req.Header.Set("Authorization", "Bearer "+tok1.AccessToken)
	if err := g.Authorize(testwait.Context(t), req, nil); err != nil {
		t.Fatal(err)
	}
	tok2, _ := g.Token(testwait.Context(t))
	if len(seen) != 2 || string(seen[0]) != tok1.AccessToken || string(seen[1]) != tok2.AccessToken {
		t.Errorf("OnToken saw %d tokens, want both new tokens in order", len(seen))
	}
}

func TestEarlyRefresh(t *testing.T) {
	testwait.NoLeaks(t)
	clock := setClock(t)
	srv := newTokenServer(t)
	g, _ := newCC(t, srv, "default")
	ctx := testwait.Context(t)
	tok1, err := g.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.Now().Add(time.Hour); !tok1.Expiry.Equal(want) {
		t.Errorf("Expiry = %v, want %v (expires_in on the local clock)", tok1.Expiry, want)
	}

	clock.Advance(58 * time.Minute) // 2 min left: still fresh (skew 60 s)
	if tok, _ := g.Token(ctx); tok.AccessToken != tok1.AccessToken || srv.requests.Load() != 1 {
		t.Fatal("refreshed a token with 2 minutes left")
	}

	clock.Advance(90 * time.Second) // 30 s left: usable, refreshed in the background
	tok, err := g.Token(ctx)
	if err != nil || tok.AccessToken != tok1.AccessToken {
		t.Fatalf("within the skew the current token should be returned at once (err %v)", err)
	}
	waitFor(t, func() bool { tok, _ := g.Token(ctx); return tok.AccessToken != tok1.AccessToken })

	clock.Advance(59*time.Minute + 55*time.Second) // 5 s left on the second token: wait for a new one
	tok3, err := g.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if srv.issued.Load() != 3 || tok3.AccessToken != "access-3" {
		t.Errorf("near expiry Token returned %d issued tokens / no new token", srv.issued.Load())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAuthorizeRefetchesAndRereadsTheSecret(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	g, f := newCC(t, srv, "default")
	ctx := testwait.Context(t)
	tok1, err := g.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The client secret is rotated and stored by a login in another terminal.
	srv.set(func(s *tokenServer) { s.clientSecret = "rotated-client-secret" })
	f.Set(ctx, "default", tokenstore.ClientSecretName, "rotated-client-secret")
	gets := f.Calls("get")

	body := &closeRecorder{Reader: strings.NewReader(`{"error":"invalid_token"}`)}
	req, _ := http.NewRequest("POST", "http://127.0.0.1/mcp", nil)
	req.Header.Set("Authorization", "Bearer "+tok1.AccessToken)
	if err := g.Authorize(ctx, req, &http.Response{StatusCode: 401, Body: body}); err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	if !body.closed {
		t.Error("Authorize did not close the response body")
	}
	if f.Calls("get") == gets {
		t.Error("Authorize did not read the client secret again")
	}
	tok2, err := g.Token(ctx)
	if err != nil || tok2.AccessToken == tok1.AccessToken {
		t.Fatalf("after Authorize: same token or err %v", err)
	}

	// A second request that failed with the old token must not throw the
	// new one away.
	n := srv.requests.Load()
	if err := g.Authorize(ctx, req, &http.Response{StatusCode: 401, Body: http.NoBody}); err != nil {
		t.Fatal(err)
	}
	if srv.requests.Load() != n {
		t.Error("Authorize for a stale token fetched again")
	}
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestCancelledRequestDoesNotPoisonRefresh(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	srv.delay = 200 * time.Millisecond
	g, _ := newCC(t, srv, "default")
	ctx, cancel := context.WithTimeout(testwait.Context(t), 20*time.Millisecond)
	defer cancel()
	if _, err := g.Token(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the request's deadline", err)
	}
	tok, err := g.Token(testwait.Context(t))
	if err != nil {
		t.Fatalf("after a cancelled request: %v", err)
	}
	if tok.AccessToken != "access-1" || srv.requests.Load() != 1 {
		t.Errorf("the fetch started by the cancelled request was not reused (%d requests)", srv.requests.Load())
	}
}

func TestTokenEndpoint503RetriedThenSuccess(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	srv.set(func(s *tokenServer) { s.failNext, s.failStatus = 2, 503 })
	g, _ := newCC(t, srv, "default")
	if _, err := g.Token(testwait.Context(t)); err != nil {
		t.Fatalf("Token after two 503s: %v", err)
	}
	if n := srv.requests.Load(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestTokenEndpointDownIsNotLogout(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	srv.set(func(s *tokenServer) { s.failNext, s.failStatus = 100, 503 })
	g, f := newCC(t, srv, "default")
	_, err := g.Token(testwait.Context(t))
	if !errors.Is(err, ErrTokenEndpoint) || errors.Is(err, tokenstore.ErrLoginNeeded) {
		t.Fatalf("err = %v, want ErrTokenEndpoint and not ErrLoginNeeded", err)
	}
	if n := srv.requests.Load(); n != fetchAttempts {
		t.Errorf("%d attempts, want %d", n, fetchAttempts)
	}
	if _, err := f.Get(testwait.Context(t), "default", tokenstore.ClientSecretName); err != nil {
		t.Error("the client secret is gone after a token endpoint outage")
	}
	srv.set(func(s *tokenServer) { s.failNext = 0 })
	if _, err := g.Token(testwait.Context(t)); err != nil {
		t.Fatalf("no recovery once the endpoint is back: %v", err)
	}
}

func TestTokenEndpointUnreachable(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	g, _ := newCC(t, srv, "default")
	srv.Close()
	if _, err := g.Token(testwait.Context(t)); !errors.Is(err, ErrTokenEndpoint) {
		t.Fatalf("err = %v, want ErrTokenEndpoint", err)
	}
}

func TestWrongClientSecretNeedsLogin(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	g, f := newCC(t, srv, "work")
	f.Set(testwait.Context(t), "work", tokenstore.ClientSecretName, testValue)
	_, err := g.Token(testwait.Context(t))
	wantLoginError(t, err, "work", "invalid_client")
	if strings.Contains(err.Error(), string(testValue)) {
		t.Error("secret leaked into the error")
	}
	n := srv.requests.Load()
	if _, err := g.Token(testwait.Context(t)); !errors.Is(err, tokenstore.ErrLoginNeeded) || srv.requests.Load() != n {
		t.Errorf("the rejected secret was sent again (err %v)", err)
	}
	f.Set(testwait.Context(t), "work", tokenstore.ClientSecretName, tokenstore.Secret(srv.clientSecret))
	if _, err := g.Token(testwait.Context(t)); err != nil {
		t.Fatalf("a new login did not heal: %v", err)
	}
}

func TestMissingClientSecretNeedsLogin(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	g, f := newCC(t, srv, "default")
	f.Delete(testwait.Context(t), "default", tokenstore.ClientSecretName)
	_, err := g.Token(testwait.Context(t))
	wantLoginError(t, err, "default", "no client secret stored")
	if srv.requests.Load() != 0 {
		t.Error("a request was sent without a client secret")
	}
}

func TestLockedKeychainIsNotLoginNeeded(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	g, f := newCC(t, srv, "default")
	f.FailWith(tokenstore.ErrLocked)
	_, err := g.Token(testwait.Context(t))
	if !errors.Is(err, tokenstore.ErrLocked) || errors.Is(err, tokenstore.ErrLoginNeeded) {
		t.Fatalf("err = %v, want ErrLocked only", err)
	}
}

func TestInvalidScopeIsRejectedNotRetried(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	g, _ := newCC(t, srv, "default")
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.requests.Add(1)
		oauthErr(w, 400, "invalid_scope")
	})
	_, err := g.Token(testwait.Context(t))
	if !errors.Is(err, ErrTokenRejected) || !strings.Contains(err.Error(), "invalid_scope") {
		t.Fatalf("err = %v, want ErrTokenRejected naming invalid_scope", err)
	}
	if srv.requests.Load() != 1 {
		t.Errorf("a permanent rejection was retried (%d requests)", srv.requests.Load())
	}
}

func bearerRequest(token string) *http.Request {
	req, _ := http.NewRequest("POST", "http://127.0.0.1/mcp", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

func TestHangingKeychainBoundsTheFetch(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	g, f := newCC(t, srv, "default")
	f.Hang(50 * time.Millisecond)
	start := time.Now()
	_, err := g.Token(testwait.Context(t))
	if !errors.Is(err, tokenstore.ErrTimeout) || errors.Is(err, tokenstore.ErrLoginNeeded) {
		t.Fatalf("err = %v, want ErrTimeout only", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("a hanging keychain held the fetch past its timeout")
	}
	f.Hang(0)
	if _, err := g.Token(testwait.Context(t)); err != nil {
		t.Fatalf("no recovery after the keychain answers again: %v", err)
	}
}
