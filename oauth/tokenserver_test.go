package oauth

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// testValue is a secret that no output may show.
const testValue = tokenstore.Secret("tok-9f8e7d6c5b4a")

// tokenServer is a small Cognito-like token endpoint on loopback.
type tokenServer struct {
	*httptest.Server

	clientID string

	mu            sync.Mutex
	clientSecret  string // accepted client secret
	refreshTokens map[string]bool
	rotateTo      string        // when set, a refresh returns this new refresh token
	lifetime      time.Duration // expires_in
	failNext      int           // answer the next n requests with failStatus
	failStatus    int
	delay         time.Duration
	codes         map[string]codeGrant // authorization codes issued by the fake authorize endpoint
	redirectURI   string               // the app client's registered callback URL
	denyLogin     bool                 // the authorize endpoint answers error=access_denied

	requests atomic.Int64
	issued   atomic.Int64
}

type codeGrant struct {
	challenge, redirectURI string
}

func newTokenServer(t *testing.T) *tokenServer {
	s := &tokenServer{
		clientID:      "client-1",
		clientSecret:  "s3cret-client",
		refreshTokens: map[string]bool{},
		lifetime:      time.Hour,
		codes:         map[string]codeGrant{},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *tokenServer) set(f func(s *tokenServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func oauthErr(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":%q}`, code)
}

func (s *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/oauth2/authorize" {
		s.authorize(w, r)
		return
	}
	s.requests.Add(1)
	s.mu.Lock()
	delay := s.delay
	if s.failNext > 0 {
		s.failNext--
		st := s.failStatus
		s.mu.Unlock()
		http.Error(w, "service unavailable", st)
		return
	}
	s.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if err := r.ParseForm(); err != nil {
		oauthErr(w, 400, "invalid_request")
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id != s.clientID {
		oauthErr(w, 400, "invalid_client")
		return
	}
	resp := map[string]any{"token_type": "Bearer", "expires_in": int(s.lifetime / time.Second)}
	switch r.PostForm.Get("grant_type") {
	case "client_credentials":
		if secret != s.clientSecret {
			oauthErr(w, 400, "invalid_client")
			return
		}
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		if !s.refreshTokens[rt] {
			oauthErr(w, 400, "invalid_grant")
			return
		}
		if s.rotateTo != "" {
			delete(s.refreshTokens, rt)
			s.refreshTokens[s.rotateTo] = true
			resp["refresh_token"] = s.rotateTo
			s.rotateTo = ""
		}
	case "authorization_code":
		g, ok := s.codes[r.PostForm.Get("code")]
		delete(s.codes, r.PostForm.Get("code"))
		if !ok || g.redirectURI != r.PostForm.Get("redirect_uri") || s256(r.PostForm.Get("code_verifier")) != g.challenge {
			oauthErr(w, 400, "invalid_grant")
			return
		}
		rt := fmt.Sprintf("refresh-%d", s.issued.Load())
		s.refreshTokens[rt] = true
		resp["refresh_token"] = rt
		resp["id_token"] = "id-token"
	default:
		oauthErr(w, 400, "unsupported_grant_type")
		return
	}
	resp["access_token"] = fmt.Sprintf("access-%d", s.issued.Add(1))
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

// authorize auto-approves like a logged-in user would, checking the request
// the way Cognito does.
func (s *tokenServer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	redirect := q.Get("redirect_uri")
	if q.Get("client_id") != s.clientID || redirect != s.redirectURI {
		http.Error(w, "redirect_mismatch", http.StatusBadRequest)
		return
	}
	if q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" {
		http.Error(w, "invalid_request", http.StatusBadRequest)
		return
	}
	target, _ := url.Parse(redirect)
	v := url.Values{"state": {q.Get("state")}}
	if s.denyLogin {
		v.Set("error", "access_denied")
	} else {
		code := fmt.Sprintf("code-%d", len(s.codes)+1)
		s.codes[code] = codeGrant{challenge: q.Get("code_challenge"), redirectURI: redirect}
		v.Set("code", code)
	}
	target.RawQuery = v.Encode()
	http.Redirect(w, r, target.String(), http.StatusFound)
}
