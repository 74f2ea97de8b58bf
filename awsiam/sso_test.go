package awsiam_test

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/awsiam"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// The secrets of an SSO cache file and of CreateToken's answers: none may
// turn up in an error.
const (
	accessOld    = "aT0ld9LmT2pWz8RkJ4nYb6Hc1FdQe5"
	accessNew    = "nEwAcc7Vx3Kq8Zp1Rt6Wm4Ys2Ub9Ho"
	accessOther  = "oThEr5Gj2Lk9Df4Sa7Qw1Er8Ty3Ui6"
	refreshOld   = "rOld3Hh8Jj1Kk6Ll4Zz9Xx2Cc7Vv5Bb"
	refreshNew   = "rNew6Mm2Nn9Bb4Vv1Cc8Xx3Zz7Ll5Kk"
	clientSecret = "cSec4Pp7Oo2Ii9Uu1Yy6Tt3Rr8Ee5Ww"
	clientID     = "client-id-0001"
)

var ssoSecrets = []string{accessOld, accessNew, accessOther, refreshOld, refreshNew, clientSecret}

// ssoWorld is a home with an sso_session profile "dev" (and a legacy
// profile "old"), IAM Identity Center's portal and its SSO OIDC endpoint
// as fakes, and the cache files of both profiles.
type ssoWorld struct {
	t          *testing.T
	getenv     func(string) string
	cacheFile  string // the session's
	legacyFile string // the legacy profile's
	now        time.Time

	mu     sync.Mutex
	oidc   []oidcCall
	portal []string // the bearer tokens GetRoleCredentials saw
	// answer is CreateToken's behaviour; nil answers with accessNew for
	// an hour and refreshNew.
	answer func(w http.ResponseWriter, body map[string]any)
}

type oidcCall struct {
	method, path, contentType string
	body                      map[string]any
}

func newSSOWorld(t *testing.T) *ssoWorld {
	w := &ssoWorld{t: t, now: time.Now().Truncate(time.Second)}
	portal := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		tok := r.Header.Get("X-Amz-Sso_bearer_token")
		w.mu.Lock()
		w.portal = append(w.portal, tok)
		w.mu.Unlock()
		q := r.URL.Query()
		if r.URL.Path != "/federation/credentials" || q.Get("account_id") != "111122223333" || q.Get("role_name") != "Dev" {
			http.Error(rw, "bad request", 400)
			return
		}
		if tok != accessOld && tok != accessNew && tok != accessOther {
			rw.WriteHeader(401)
			return
		}
		fmt.Fprintf(rw, `{"roleCredentials":{"accessKeyId":"ASIASSO","secretAccessKey":"sso-secret-abcdefghijklmnop","sessionToken":"sso-token-abcdefghijklmnop","expiration":%d}}`,
			time.Now().Add(time.Hour).UnixMilli())
	}))
	t.Cleanup(portal.Close)
	oidc := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		w.mu.Lock()
		w.oidc = append(w.oidc, oidcCall{r.Method, r.URL.Path, r.Header.Get("Content-Type"), body})
		answer := w.answer
		w.mu.Unlock()
		if answer == nil {
			answer = func(rw http.ResponseWriter, _ map[string]any) {
				fmt.Fprintf(rw, `{"accessToken":%q,"expiresIn":3600,"refreshToken":%q,"tokenType":"Bearer","idToken":"id-token"}`, accessNew, refreshNew)
			}
		}
		answer(rw, body)
	}))
	t.Cleanup(oidc.Close)
	config := `[profile dev]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Dev

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1

[profile old]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
sso_account_id = 111122223333
sso_role_name = Dev
`
	w.getenv = awsHome(t, config, map[string]string{"AWS_ENDPOINT_URL_SSO": portal.URL, "AWS_ENDPOINT_URL_SSO_OIDC": oidc.URL})
	dir := filepath.Join(w.getenv("HOME"), ".aws", "sso", "cache")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	name := func(key string) string {
		sum := sha1.Sum([]byte(key))
		return filepath.Join(dir, hex.EncodeToString(sum[:])+".json")
	}
	w.cacheFile, w.legacyFile = name("corp"), name("https://corp.awsapps.com/start")
	return w
}

// cache writes file as "aws sso login" leaves it for an sso-session: the
// access token expiring at exp, the refresh token, the client
// registration expiring at reg; change edits the fields first (nil value:
// the field is left out).
func (w *ssoWorld) cache(file string, exp, reg time.Time, change map[string]any) map[string]json.RawMessage {
	w.t.Helper()
	fields := map[string]any{
		"startUrl":              "https://corp.awsapps.com/start",
		"region":                "us-east-1",
		"accessToken":           accessOld,
		"expiresAt":             exp.UTC().Format(time.RFC3339),
		"clientId":              clientID,
		"clientSecret":          clientSecret,
		"registrationExpiresAt": reg.UTC().Format(time.RFC3339),
		"refreshToken":          refreshOld,
		"futureField":           map[string]any{"nested": []any{1, "two"}},
	}
	for k, v := range change {
		if v == nil {
			delete(fields, k)
		} else {
			fields[k] = v
		}
	}
	data, err := json.Marshal(fields)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		w.t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(data, &raw)
	return raw
}

func (w *ssoWorld) retrieve(profile string) error {
	_, err := awsiam.New(awsiam.Config{Profile: profile, Getenv: w.getenv, Now: func() time.Time { return w.now }}).Retrieve(testwait.Context(w.t))
	if err != nil {
		noSecrets(w.t, err)
	}
	return err
}

func (w *ssoWorld) calls() ([]oidcCall, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]oidcCall(nil), w.oidc...), append([]string(nil), w.portal...)
}

// noSecrets fails t if the text of err, or of any error it wraps, holds
// any part of an SSO secret.
func noSecrets(t *testing.T, err error) {
	t.Helper()
	for e := err; e != nil; e = errors.Unwrap(e) {
		for _, text := range []string{e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e)} {
			if lerr := leakcheck.Text(text, ssoSecrets...); lerr != nil {
				t.Errorf("error %T: %v", e, lerr)
			}
		}
	}
}

func wantSSOLogin(t *testing.T, what string, err error) {
	t.Helper()
	var ce *awsiam.CredentialError
	if !errors.As(err, &ce) || !ce.SSO || !strings.Contains(err.Error(), `run "aws sso login --profile `) {
		t.Errorf("%s: %v, want an SSO CredentialError saying to run aws sso login", what, err)
	}
}

// An expired access token of an sso_session profile is refreshed with
// one CreateToken (grantType refresh_token), the cache file rewritten as
// the SDKs do (same keys, others kept, mode 0600), and the new token is
// the one GetRoleCredentials gets. The next fetch uses it without a
// refresh.
func TestSSORefreshesAnExpiredToken(t *testing.T) {
	w := newSSOWorld(t)
	before := w.cache(w.cacheFile, w.now.Add(-time.Hour), w.now.Add(30*24*time.Hour), nil)
	old, err := os.Stat(w.cacheFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.retrieve("dev"); err != nil {
		t.Fatal(err)
	}
	oidc, portal := w.calls()
	if len(oidc) != 1 {
		t.Fatalf("%d CreateToken calls, want 1", len(oidc))
	}
	c := oidc[0]
	wantBody := map[string]any{"clientId": clientID, "clientSecret": clientSecret, "grantType": "refresh_token", "refreshToken": refreshOld}
	if c.method != "POST" || c.path != "/token" || c.contentType != "application/json" || fmt.Sprint(c.body) != fmt.Sprint(wantBody) {
		t.Errorf("CreateToken: %s %s (Content-Type %q), body keys %v; want POST /token, application/json, %v",
			c.method, c.path, c.contentType, keys(c.body), keys(wantBody))
	}
	if len(portal) != 1 || portal[0] != accessNew {
		t.Errorf("GetRoleCredentials saw %d calls, the first with the new token: %v", len(portal), len(portal) == 1 && portal[0] == accessNew)
	}

	data, err := os.ReadFile(w.cacheFile)
	if err != nil {
		t.Fatal(err)
	}
	var after map[string]json.RawMessage
	if err := json.Unmarshal(data, &after); err != nil {
		t.Fatalf("the rewritten cache file is not JSON: %v", err)
	}
	want := map[string]string{
		"accessToken":  accessNew,
		"expiresAt":    w.now.Add(time.Hour).UTC().Format(time.RFC3339),
		"refreshToken": refreshNew,
	}
	for k, v := range want {
		var got string
		if json.Unmarshal(after[k], &got); got != v {
			t.Errorf("cache %s: not the new value (%d bytes)", k, len(got))
		}
	}
	for k, v := range before {
		if _, changed := want[k]; !changed && string(after[k]) != string(v) {
			t.Errorf("cache %s: %s, want it kept as %s", k, after[k], v)
		}
	}
	if len(after) != len(before) {
		t.Errorf("the rewritten cache has keys %v, want %v", keys(after), keys(before))
	}
	fi, err := os.Stat(w.cacheFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if os.SameFile(old, fi) {
		t.Errorf("the cache file was rewritten in place, not replaced by a rename (a reader could see half of it)")
	}
	if entries, _ := os.ReadDir(filepath.Dir(w.cacheFile)); len(entries) != 1 {
		t.Errorf("the cache folder holds %d files, want the cache file alone", len(entries))
	}

	if err := w.retrieve("dev"); err != nil {
		t.Fatal(err)
	}
	if oidc, portal := w.calls(); len(oidc) != 1 || len(portal) != 2 || portal[1] != accessNew {
		t.Errorf("second fetch: %d CreateToken calls in all, want 1; the portal got the new token: %v", len(oidc), len(portal) == 2 && portal[1] == accessNew)
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// A token within 5 minutes of its expiry is refreshed (the SDKs' window);
// one valid for longer is used as it is. A refresh that fails while the
// old token is still good is no error: the old token is used.
func TestSSORefreshWindow(t *testing.T) {
	for _, tc := range []struct {
		name    string
		left    time.Duration
		answer  func(http.ResponseWriter, map[string]any)
		oidc    int
		used    string
		refresh string // the cache's refresh token after
	}{
		{"4 minutes left", 4 * time.Minute, nil, 1, accessNew, refreshNew},
		{"10 minutes left", 10 * time.Minute, nil, 0, accessOld, refreshOld},
		{"4 minutes left, OIDC down", 4 * time.Minute, func(rw http.ResponseWriter, _ map[string]any) { rw.WriteHeader(503) }, 1, accessOld, refreshOld},
		{"4 minutes left, refused", 4 * time.Minute, func(rw http.ResponseWriter, _ map[string]any) {
			rw.WriteHeader(400)
			_, _ = io.WriteString(rw, `{"error":"invalid_grant"}`)
		}, 1, accessOld, refreshOld},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newSSOWorld(t)
			w.answer = tc.answer
			w.cache(w.cacheFile, w.now.Add(tc.left), w.now.Add(24*time.Hour), nil)
			if err := w.retrieve("dev"); err != nil {
				t.Fatal(err)
			}
			oidc, portal := w.calls()
			if len(oidc) != tc.oidc || len(portal) != 1 || portal[0] != tc.used {
				t.Errorf("%d CreateToken calls, want %d; GetRoleCredentials got the expected token: %v", len(oidc), tc.oidc, len(portal) == 1 && portal[0] == tc.used)
			}
			data, _ := os.ReadFile(w.cacheFile)
			if !strings.Contains(string(data), tc.refresh) {
				t.Errorf("the cache file does not hold the expected refresh token")
			}
		})
	}
}

// A refresh IAM Identity Center refuses, an expired client registration,
// a cache without a refresh token, and a legacy profile (its sso_start_url
// in the profile) are the sign-in's end: the error says to run "aws sso
// login", and only a refresh that can succeed is attempted. The refusals'
// descriptions, which here quote the secrets, are not shown.
func TestSSOExpiredSessionNeedsLogin(t *testing.T) {
	quote := `"error_description":"refresh token ` + refreshOld + ` of client secret ` + clientSecret + ` is revoked"`
	refuse := func(status int, header, body string) func(http.ResponseWriter, map[string]any) {
		return func(rw http.ResponseWriter, _ map[string]any) {
			if header != "" {
				rw.Header().Set("X-Amzn-Errortype", header)
			}
			rw.WriteHeader(status)
			_, _ = io.WriteString(rw, body)
		}
	}
	for _, tc := range []struct {
		name    string
		profile string
		legacy  bool
		reg     time.Duration
		change  map[string]any
		answer  func(http.ResponseWriter, map[string]any)
		oidc    int
		says    string
	}{
		{name: "invalid_grant", answer: refuse(400, "", `{"error":"invalid_grant",`+quote+`}`), oidc: 1, says: "refused to refresh the SSO token (HTTP 400, invalid_grant)"},
		{name: "InvalidGrantException", answer: refuse(400, "InvalidGrantException:http://internal.amazon.com/coral/com.amazonaws.ssooidc/", `{`+quote+`}`), oidc: 1, says: "(HTTP 400, InvalidGrantException)"},
		{name: "invalid_client", answer: refuse(401, "", `{"__type":"com.amazonaws.ssooidc#InvalidClientException",`+quote+`}`), oidc: 1, says: "(HTTP 401, InvalidClientException)"},
		{name: "a hostile error type", answer: refuse(400, "", `{"error":"`+refreshOld+` x"}`), oidc: 1, says: "(HTTP 400)"},
		{name: "expired registration", reg: -time.Minute, oidc: 0, says: "client registration"},
		{name: "no refresh token", change: map[string]any{"refreshToken": nil}, oidc: 0, says: "the SSO session has expired"},
		{name: "no client secret", change: map[string]any{"clientSecret": nil}, oidc: 0, says: "the SSO session has expired"},
		{name: "legacy profile", profile: "old", legacy: true, oidc: 0, says: "the SSO session has expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newSSOWorld(t)
			w.answer = tc.answer
			if tc.reg == 0 {
				tc.reg = 24 * time.Hour
			}
			file, profile := w.cacheFile, "dev"
			if tc.legacy {
				file, profile = w.legacyFile, "old"
			}
			before := w.cache(file, w.now.Add(-time.Minute), w.now.Add(tc.reg), tc.change)
			err := w.retrieve(profile)
			wantSSOLogin(t, tc.name, err)
			if err != nil && !strings.Contains(err.Error(), tc.says) {
				t.Errorf("%v, want it to say %q", err, tc.says)
			}
			oidc, portal := w.calls()
			if len(oidc) != tc.oidc || len(portal) != 0 {
				t.Errorf("%d CreateToken and %d GetRoleCredentials calls, want %d and 0", len(oidc), len(portal), tc.oidc)
			}
			data, _ := os.ReadFile(file)
			var after map[string]json.RawMessage
			if json.Unmarshal(data, &after); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("the cache file was changed")
			}
		})
	}
}

// A refresh that gets no answer (a 5xx, a closed port, an answer without a
// token) says the refresh failed and why; it does not claim the session
// has expired, nor say to sign in again.
func TestSSORefreshFailureIsNotALoginClaim(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tc := range []struct {
		name     string
		answer   func(http.ResponseWriter, map[string]any)
		endpoint string
		says     string
	}{
		{name: "HTTP 500", answer: func(rw http.ResponseWriter, _ map[string]any) {
			rw.WriteHeader(500)
			_, _ = io.WriteString(rw, `{"error":"server_error","error_description":"`+clientSecret+`"}`)
		}, says: "answered HTTP 500, server_error"},
		{name: "throttled", answer: func(rw http.ResponseWriter, _ map[string]any) { rw.WriteHeader(429) }, says: "answered HTTP 429"},
		{name: "no token", answer: func(rw http.ResponseWriter, _ map[string]any) {
			_, _ = io.WriteString(rw, `{"refreshToken":"`+refreshNew+`"}`)
		}, says: "answered without a token"},
		{name: "connection refused", endpoint: closed.URL, says: "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newSSOWorld(t)
			w.answer = tc.answer
			if tc.endpoint != "" {
				getenv := w.getenv
				w.getenv = func(k string) string {
					if k == "AWS_ENDPOINT_URL_SSO_OIDC" {
						return tc.endpoint
					}
					return getenv(k)
				}
			}
			w.cache(w.cacheFile, w.now.Add(-time.Minute), w.now.Add(24*time.Hour), nil)
			err := w.retrieve("dev")
			var ce *awsiam.CredentialError
			if !errors.As(err, &ce) || ce.SSO {
				t.Fatalf("%v, want a CredentialError that is not SSO's sign-in", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "could not refresh the SSO token") || !strings.Contains(msg, tc.says) {
				t.Errorf("%q, want it to say the refresh failed: %s", msg, tc.says)
			}
			if strings.Contains(msg, "aws sso login") || strings.Contains(msg, "expired") {
				t.Errorf("%q claims the session is over", msg)
			}
			if _, portal := w.calls(); len(portal) != 0 {
				t.Errorf("GetRoleCredentials was called %d times", len(portal))
			}
		})
	}
}

// Another process (the AWS CLI, a second agw-proxy) that refreshed the
// token first, spending the refresh token, wins: the refusal of the stale
// refresh token is not an error when the file now holds a good token.
func TestSSORefreshLostToAnotherProcess(t *testing.T) {
	w := newSSOWorld(t)
	w.cache(w.cacheFile, w.now.Add(-time.Minute), w.now.Add(24*time.Hour), nil)
	w.answer = func(rw http.ResponseWriter, _ map[string]any) {
		w.cache(w.cacheFile, w.now.Add(time.Hour), w.now.Add(24*time.Hour), map[string]any{"accessToken": accessOther, "refreshToken": refreshNew})
		rw.WriteHeader(400)
		_, _ = io.WriteString(rw, `{"error":"invalid_grant"}`)
	}
	if err := w.retrieve("dev"); err != nil {
		t.Fatal(err)
	}
	if oidc, portal := w.calls(); len(oidc) != 1 || len(portal) != 1 || portal[0] != accessOther {
		t.Errorf("%d CreateToken calls, want 1; GetRoleCredentials got the other process's token: %v", len(oidc), len(portal) == 1 && portal[0] == accessOther)
	}
}

// Fetches of several Credentials of one session at once (serve and a
// status check) refresh once: IAM Identity Center rotates the refresh
// token, and a second refresh with the first one would be refused.
func TestSSORefreshOnceForConcurrentFetches(t *testing.T) {
	w := newSSOWorld(t)
	w.cache(w.cacheFile, w.now.Add(-time.Minute), w.now.Add(24*time.Hour), nil)
	var spent sync.Map
	w.answer = func(rw http.ResponseWriter, body map[string]any) {
		time.Sleep(50 * time.Millisecond) // widens the window a second refresh would use
		if _, used := spent.LoadOrStore(body["refreshToken"], true); used {
			rw.WriteHeader(400)
			_, _ = io.WriteString(rw, `{"error":"invalid_grant"}`)
			return
		}
		fmt.Fprintf(rw, `{"accessToken":%q,"expiresIn":3600,"refreshToken":%q}`, accessNew, refreshNew)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = w.retrieve("dev") })
	}
	testwait.WaitAll(t, &wg, "the fetches")
	for i, err := range errs {
		if err != nil {
			t.Errorf("fetch %d: %v", i, err)
		}
	}
	if oidc, _ := w.calls(); len(oidc) != 1 {
		t.Errorf("%d CreateToken calls, want 1", len(oidc))
	}
}

// The SSO OIDC endpoint is AWS's oidc.{sso_region}.amazonaws.com, else
// what the profile's services section says for sso_oidc (the SDK's
// service ID "SSO OIDC").
func TestSSORefreshEndpoint(t *testing.T) {
	w := newSSOWorld(t)
	w.cache(w.cacheFile, w.now.Add(-time.Minute), w.now.Add(24*time.Hour), nil)
	var hosts []string
	var mu sync.Mutex
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		hosts = append(hosts, r.Method+" "+r.URL.Host+r.URL.Path)
		mu.Unlock()
		return &http.Response{StatusCode: 503, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}, Request: r}, nil
	})}
	orig := w.getenv
	getenv := func(k string) string {
		if strings.HasPrefix(k, "AWS_ENDPOINT_URL") {
			return ""
		}
		return orig(k)
	}
	_, err := awsiam.New(awsiam.Config{Profile: "dev", Getenv: getenv, HTTPClient: client}).Retrieve(testwait.Context(t))
	if err == nil || len(hosts) != 1 || hosts[0] != "POST oidc.us-east-1.amazonaws.com/token" {
		t.Errorf("requests %v (%v), want one POST to oidc.us-east-1.amazonaws.com/token", hosts, err)
	}

	oidc := orig("AWS_ENDPOINT_URL_SSO_OIDC")
	config, _ := os.ReadFile(getenv("AWS_CONFIG_FILE"))
	config = []byte(strings.Replace(string(config), "[profile dev]\n", "[profile dev]\nservices = local\n", 1) +
		"\n[services local]\nsso_oidc =\n  endpoint_url = " + oidc + "\nsso =\n  endpoint_url = " + orig("AWS_ENDPOINT_URL_SSO") + "\n")
	if err := os.WriteFile(getenv("AWS_CONFIG_FILE"), config, 0o600); err != nil {
		t.Fatal(err)
	}
	w.getenv = getenv
	if err := w.retrieve("dev"); err != nil {
		t.Fatal(err)
	}
	if oidc, portal := w.calls(); len(oidc) != 1 || len(portal) != 1 || portal[0] != accessNew {
		t.Errorf("with a services section: %d CreateToken calls, want 1; the portal got the new token: %v", len(oidc), len(portal) == 1 && portal[0] == accessNew)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
