package oauth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/agw-proxy/agw-proxy/tokenstore/tokenstoretest"
)

// fakeJWT is an unsigned JWT with iat and exp lifetime seconds apart.
func fakeJWT(n int, lifetime int64) string {
	enc := base64.RawURLEncoding.EncodeToString
	iat := time.Now().Unix()
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(fmt.Appendf(nil, `{"aud":"client-1","n":%d,"iat":%d,"exp":%d}`, n, iat, iat+lifetime)) + ".sig"
}

// auth.token: id: the ID token of each refresh is what the cache hands
// out, expiring with the shorter of the two lifetimes; a refresh without
// one is ErrNoIDToken, a configuration problem (not a login).
func TestAuthorizationCodeIDToken(t *testing.T) {
	testwait.NoLeaks(t)
	var refreshes atomic.Int32
	withID := atomic.Bool{}
	withID.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := refreshes.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if !withID.Load() {
			fmt.Fprintf(w, `{"access_token":"access-%d","expires_in":3600,"token_type":"Bearer"}`, n)
			return
		}
		fmt.Fprintf(w, `{"access_token":"access-%d","id_token":%q,"expires_in":3600,"token_type":"Bearer"}`, n, fakeJWT(int(n), 600))
	}))
	t.Cleanup(srv.Close)
	f := tokenstoretest.NewFake()
	if err := f.Set(testwait.Context(t), "default", tokenstore.RefreshTokenName, "refresh-abcdefgh"); err != nil {
		t.Fatal(err)
	}
	var seen []tokenstore.Secret
	g := NewAuthorizationCode(Config{TokenURL: srv.URL, ClientID: "client-1", Secrets: f, HTTPClient: srv.Client(), IDToken: true})
	g.OnToken = func(s tokenstore.Secret) { seen = append(seen, s) }
	tok, err := g.Token(testwait.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(tok.AccessToken, ".") != 2 || jwtLifetime(tok.AccessToken) != 600 {
		t.Fatalf("the cache handed out %.20q, want the ID token", tok.AccessToken)
	}
	if left := time.Until(tok.Expiry); left > 11*time.Minute || left < 9*time.Minute {
		t.Errorf("expires in %s, want the ID token's 10 minutes, not the access token's hour", left)
	}
	if len(seen) != 1 || string(seen[0]) != tok.AccessToken {
		t.Errorf("OnToken saw %d tokens, want the ID token (for the scrubber)", len(seen))
	}
	// A refused bearer: the next one is the next refresh's ID token.
	if err := g.Authorize(testwait.Context(t), nil, nil); err != nil {
		t.Fatal(err)
	}
	tok2, err := g.Token(testwait.Context(t))
	if err != nil || tok2.AccessToken == tok.AccessToken || refreshes.Load() != 2 {
		t.Errorf("after a refresh: %v, same token %v, %d refreshes", err, tok2 != nil && tok2.AccessToken == tok.AccessToken, refreshes.Load())
	}

	withID.Store(false)
	g2 := NewAuthorizationCode(Config{TokenURL: srv.URL, ClientID: "client-1", Secrets: f, HTTPClient: srv.Client(), IDToken: true})
	_, err = g2.Token(testwait.Context(t))
	if !errors.Is(err, ErrNoIDToken) || !errors.Is(err, ErrTokenRejected) || errors.Is(err, tokenstore.ErrLoginNeeded) {
		t.Errorf("no id_token: %v, want ErrNoIDToken (a rejected setup, not a login)", err)
	}
}
