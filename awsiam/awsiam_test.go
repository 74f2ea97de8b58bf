package awsiam_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/awsiam"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/internal/sigv4test"
	"github.com/agw-proxy/agw-proxy/internal/testexe"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

const (
	keyID  = "AKIDEXAMPLETESTKEY01"
	secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	region = "us-west-2"
)

// awsHome makes a home with ~/.aws/config holding config, and an
// environment that reads nothing of the developer's: no AWS_* of the
// process, HOME and the two files in the test's directory, no instance
// metadata.
func awsHome(t *testing.T, config string, env map[string]string) func(string) string {
	t.Helper()
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".aws", "config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"HOME":                        home,
		"AWS_CONFIG_FILE":             filepath.Join(home, ".aws", "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, ".aws", "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	}
	for k, v := range env {
		vars[k] = v
	}
	return func(k string) string { return vars[k] }
}

// upstream is a SigV4-verifying front over a handler that echoes the body.
func upstream(t *testing.T, keys ...sigv4test.Key) (*sigv4test.Front, *httptest.Server) {
	t.Helper()
	f := sigv4test.New(region, awsiam.Service, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}), keys...)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func signingClient(creds *awsiam.Credentials) *http.Client {
	return &http.Client{Transport: &awsiam.Transport{Base: http.DefaultTransport, Credentials: creds, Region: region}}
}

// Every request is signed over the exact bytes it sends: a POST whose body
// can be read again (as the proxy and the go-sdk send them), one whose body
// cannot, a body of the Gateway's full payload size, a GET and a DELETE.
func TestTransportSignsEveryRequest(t *testing.T) {
	getenv := awsHome(t, "", map[string]string{"AWS_ACCESS_KEY_ID": keyID, "AWS_SECRET_ACCESS_KEY": secret})
	front, srv := upstream(t, sigv4test.Key{ID: keyID, Secret: secret})
	client := signingClient(awsiam.New(awsiam.Config{Region: region, Getenv: getenv}))
	ctx := testwait.Context(t)

	big := bytes.Repeat([]byte("x"), 6<<20)
	for _, tc := range []struct {
		name   string
		method string
		body   func() io.Reader
		want   int
	}{
		{"POST, bytes body", http.MethodPost, func() io.Reader { return bytes.NewReader([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)) }, 46},
		{"POST, streamed body", http.MethodPost, func() io.Reader { return io.MultiReader(strings.NewReader(`{"a":`), strings.NewReader(`1}`)) }, 7},
		{"POST, 6 MiB", http.MethodPost, func() io.Reader { return bytes.NewReader(big) }, len(big)},
		{"GET", http.MethodGet, func() io.Reader { return nil }, 0},
		{"DELETE", http.MethodDelete, func() io.Reader { return nil }, 0},
	} {
		req, err := http.NewRequestWithContext(ctx, tc.method, srv.URL+"/mcp?x=a%20b", tc.body())
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Mcp-Session-Id", "s-1")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(got) != tc.want {
			t.Errorf("%s: HTTP %d, %d bytes back, want 200 and %d: %.200s", tc.name, resp.StatusCode, len(got), tc.want, got)
		}
	}
	for _, s := range front.Seen() {
		if s.Err != "" {
			t.Errorf("%s: signature refused: %s", s.Method, s.Err)
		}
	}
	if n := len(front.Seen()); n != 5 {
		t.Errorf("upstream saw %d requests, want 5", n)
	}
}

// A wrong secret key, or a region other than the Gateway's, is the
// Gateway's refusal as an error that says what to check, and that Is
// tokenstore.ErrLoginNeeded (the user must act; retrying will not help).
func TestTransportRefusedSignatureIsActionable(t *testing.T) {
	_, srv := upstream(t, sigv4test.Key{ID: keyID, Secret: secret})
	for _, tc := range []struct {
		name, secret, region, want string
	}{
		{"wrong key", "not-the-secret-key-of-AKID-at-all", region, "InvalidSignatureException"},
		{"wrong region", secret, "eu-west-1", "check the signing region (eu-west-1)"},
	} {
		getenv := awsHome(t, "", map[string]string{"AWS_ACCESS_KEY_ID": keyID, "AWS_SECRET_ACCESS_KEY": tc.secret})
		client := &http.Client{Transport: &awsiam.Transport{Credentials: awsiam.New(awsiam.Config{Getenv: getenv}), Region: tc.region}}
		req, _ := http.NewRequestWithContext(testwait.Context(t), http.MethodPost, srv.URL+"/mcp", strings.NewReader("{}"))
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: HTTP %d, want an error", tc.name, resp.StatusCode)
		}
		var refused *awsiam.RefusedError
		if !errors.As(err, &refused) || !errors.Is(err, tokenstore.ErrLoginNeeded) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v (%T), want a RefusedError that Is ErrLoginNeeded and says %q", tc.name, err, err, tc.want)
		}
		if strings.Contains(err.Error(), tc.secret) {
			t.Errorf("%s: the error holds the secret key", tc.name)
		}
	}
}

// Static keys of a profile in ~/.aws/credentials, chosen by name; the
// secret and the session token go to OnSecret before they are used.
func TestProfileStaticKeys(t *testing.T) {
	getenv := awsHome(t, "[profile dev]\nregion = us-west-2\n", nil)
	cred := fmt.Sprintf("[dev]\naws_access_key_id = %s\naws_secret_access_key = %s\naws_session_token = tok-0123456789abcdef\n", keyID, secret)
	if err := os.WriteFile(getenv("AWS_SHARED_CREDENTIALS_FILE"), []byte(cred), 0o600); err != nil {
		t.Fatal(err)
	}
	var seen []tokenstore.Secret
	creds := awsiam.New(awsiam.Config{Profile: "dev", Region: region, Getenv: getenv, OnSecret: func(s tokenstore.Secret) { seen = append(seen, s) }})
	front, srv := upstream(t, sigv4test.Key{ID: keyID, Secret: secret, Token: "tok-0123456789abcdef"})
	req, _ := http.NewRequestWithContext(testwait.Context(t), http.MethodPost, srv.URL+"/mcp", strings.NewReader("{}"))
	resp, err := signingClient(creds).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || front.Seen()[0].Err != "" {
		t.Fatalf("HTTP %d, %+v", resp.StatusCode, front.Seen())
	}
	if len(seen) != 2 || seen[0] != secret || seen[1] != "tok-0123456789abcdef" {
		t.Errorf("OnSecret saw %d values, want the secret key and the session token", len(seen))
	}
	if got := creds.Source(); got != "profile dev: static keys" {
		t.Errorf("Source() = %q", got)
	}
}

// credential_process: its credentials expire, and are fetched again (the
// process run again) before they do, within one session of requests.
func TestCredentialProcessRefreshedBeforeExpiry(t *testing.T) {
	dir := t.TempDir()
	count := filepath.Join(dir, "runs")
	script := filepath.Join(dir, "creds.sh")
	// Each run appends to runs, and hands out key N with credentials that
	// are inside the expiry window two seconds after they were issued.
	window := int((awsiam.ExpiryWindow + 2*time.Second) / time.Second)
	body := fmt.Sprintf(`#!/bin/sh
echo run >> %q
n=$(wc -l < %q | tr -d ' ')
exp=$(date -u -d "@$(( $(date +%%s) + %d ))" +%%Y-%%m-%%dT%%H:%%M:%%SZ)
printf '{"Version":1,"AccessKeyId":"AKIDPROCESS%%04d","SecretAccessKey":"process-secret-%%04d-abcdefghijkl","SessionToken":"process-token-%%04d-abcdefghijkl","Expiration":"%%s"}' $n $n $n $exp
`, count, count, window)
	if err := testexe.WriteFile(script, []byte(body)); err != nil {
		t.Fatal(err)
	}
	getenv := awsHome(t, "[profile proc]\ncredential_process = "+script+"\n", nil)
	front, srv := upstream(t)
	for n := 1; n <= 10; n++ {
		front.Allow(sigv4test.Key{ID: fmt.Sprintf("AKIDPROCESS%04d", n), Secret: fmt.Sprintf("process-secret-%04d-abcdefghijkl", n), Token: fmt.Sprintf("process-token-%04d-abcdefghijkl", n)})
	}
	creds := awsiam.New(awsiam.Config{Profile: "proc", Region: region, Getenv: getenv})
	client := signingClient(creds)
	runs := func() int {
		b, _ := os.ReadFile(count)
		return strings.Count(string(b), "run")
	}
	call := func() string {
		req, _ := http.NewRequestWithContext(testwait.Context(t), http.MethodPost, srv.URL+"/mcp", strings.NewReader("{}"))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		seen := front.Seen()
		last := seen[len(seen)-1]
		if resp.StatusCode != 200 || last.Err != "" {
			t.Fatalf("HTTP %d: %+v", resp.StatusCode, last)
		}
		return last.KeyID
	}
	if k := call(); k != "AKIDPROCESS0001" || runs() != 1 {
		t.Fatalf("first call signed with %s after %d runs, want key 1 after 1", k, runs())
	}
	if k := call(); k != "AKIDPROCESS0001" || runs() != 1 {
		t.Fatalf("second call signed with %s after %d runs: the credentials were not cached", k, runs())
	}
	testwait.Within(t, 10*time.Second, "a refresh before expiry", func() {
		for runs() < 2 {
			time.Sleep(200 * time.Millisecond)
			call()
		}
	})
	if k := call(); k != "AKIDPROCESS0002" {
		t.Errorf("after the refresh the call was signed with %s, want key 2", k)
	}
}

// A failing credential process is an error that names the profile and
// where it is configured, and holds nothing the process printed.
func TestCredentialProcessFailure(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "creds.sh")
	leak := "process-printed-secret-0123456789"
	for _, tc := range []struct{ name, body, want string }{
		{"exit 3", "#!/bin/sh\necho " + leak + "\necho " + leak + " >&2\nexit 3\n", "exit status 3"},
		{"not JSON", "#!/bin/sh\necho " + leak + "\n", "did not print credentials"},
	} {
		if err := testexe.WriteFile(script, []byte(tc.body)); err != nil {
			t.Fatal(err)
		}
		getenv := awsHome(t, "[profile proc]\ncredential_process = "+script+"\n", nil)
		_, err := awsiam.New(awsiam.Config{Profile: "proc", Getenv: getenv}).Retrieve(testwait.Context(t))
		var ce *awsiam.CredentialError
		if !errors.As(err, &ce) || !errors.Is(err, tokenstore.ErrLoginNeeded) {
			t.Fatalf("%s: %v (%T), want a CredentialError", tc.name, err, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, `profile "proc"`) || !strings.Contains(msg, tc.want) || !strings.Contains(msg, "config:2") {
			t.Errorf("%s: %q lacks the profile, %q or where credential_process is set", tc.name, msg, tc.want)
		}
		if err := leakcheck.Text(msg, leak); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// SSO: with no cached token, or an expired one, or a session the portal
// no longer knows, the error says to run "aws sso login --profile NAME";
// with a valid token, GetRoleCredentials gives the role's credentials.
func TestSSO(t *testing.T) {
	var portalCalls atomic.Int32
	portal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		portalCalls.Add(1)
		q := r.URL.Query()
		if r.URL.Path != "/federation/credentials" || q.Get("account_id") != "111122223333" || q.Get("role_name") != "Dev" {
			http.Error(w, "bad request", 400)
			return
		}
		if r.Header.Get("X-Amz-Sso_bearer_token") != "sso-access-token-valid" {
			w.WriteHeader(401)
			_, _ = io.WriteString(w, `{"message":"Session token not found or invalid"}`)
			return
		}
		fmt.Fprintf(w, `{"roleCredentials":{"accessKeyId":"ASIASSO","secretAccessKey":"sso-secret-abcdefghijklmnop","sessionToken":"sso-token-abcdefghijklmnop","expiration":%d}}`,
			time.Now().Add(time.Hour).UnixMilli())
	}))
	t.Cleanup(portal.Close)
	config := `[profile dev]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Dev

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
`
	getenv := awsHome(t, config, map[string]string{"AWS_ENDPOINT_URL_SSO": portal.URL})
	sum := sha1.Sum([]byte("corp"))
	cacheDir := filepath.Join(getenv("HOME"), ".aws", "sso", "cache")
	cacheFile := filepath.Join(cacheDir, hex.EncodeToString(sum[:])+".json")
	if err := os.MkdirAll(cacheDir, 0o700); err != nil {
		t.Fatal(err)
	}
	token := func(tok string, exp time.Time) {
		data := fmt.Sprintf(`{"accessToken":%q,"expiresAt":%q}`, tok, exp.UTC().Format(time.RFC3339))
		if err := os.WriteFile(cacheFile, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	retrieve := func() error {
		_, err := awsiam.New(awsiam.Config{Profile: "dev", Getenv: getenv}).Retrieve(testwait.Context(t))
		return err
	}
	wantLogin := func(what string, err error) {
		t.Helper()
		var ce *awsiam.CredentialError
		if !errors.As(err, &ce) || !ce.SSO || !strings.Contains(err.Error(), `run "aws sso login --profile dev"`) {
			t.Errorf("%s: %v, want an SSO CredentialError saying to run aws sso login --profile dev", what, err)
		}
	}

	wantLogin("no cached token", retrieve())
	token("sso-access-token-valid", time.Now().Add(-time.Minute))
	wantLogin("expired token", retrieve())
	if n := portalCalls.Load(); n != 0 {
		t.Errorf("the portal was called %d times with no valid token", n)
	}
	token("sso-access-token-signed-out", time.Now().Add(time.Hour))
	wantLogin("token the portal refuses", retrieve())

	token("sso-access-token-valid", time.Now().Add(time.Hour))
	c := awsiam.New(awsiam.Config{Profile: "dev", Getenv: getenv})
	creds, err := c.Retrieve(testwait.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "ASIASSO" || !creds.CanExpire {
		t.Errorf("credentials %s (expiring %v), want the role's", creds.AccessKeyID, creds.CanExpire)
	}
	if got := c.Source(); got != "profile dev: SSO, account 111122223333 role Dev" {
		t.Errorf("Source() = %q", got)
	}
}

// A named profile that does not exist, and no credentials at all, are
// errors that say where the chain looked.
func TestNoCredentials(t *testing.T) {
	getenv := awsHome(t, "[profile other]\nregion = us-east-1\n", nil)
	_, err := awsiam.New(awsiam.Config{Profile: "missing", Getenv: getenv}).Retrieve(context.Background())
	if err == nil || !strings.Contains(err.Error(), `profile "missing"`) || !strings.Contains(err.Error(), "no such profile") {
		t.Errorf("missing profile: %v", err)
	}
	_, err = awsiam.New(awsiam.Config{Getenv: getenv}).Retrieve(context.Background())
	if err == nil || !strings.Contains(err.Error(), "none found") {
		t.Errorf("no credentials: %v", err)
	}
}

// GetCallerIdentity over STS's query protocol, signed for sts.
func TestCallerIdentity(t *testing.T) {
	front := sigv4test.New(region, "sts", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.Form.Get("Action") != "GetCallerIdentity" || r.Form.Get("Version") != "2011-06-15" {
			http.Error(w, "bad action", 400)
			return
		}
		_, _ = io.WriteString(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::111122223333:user/dev</Arn><UserId>AIDA</UserId><Account>111122223333</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`)
	}), sigv4test.Key{ID: keyID, Secret: secret})
	srv := httptest.NewServer(front)
	t.Cleanup(srv.Close)
	getenv := awsHome(t, "", map[string]string{"AWS_ACCESS_KEY_ID": keyID, "AWS_SECRET_ACCESS_KEY": secret, "AWS_ENDPOINT_URL_STS": srv.URL})
	creds, err := awsiam.New(awsiam.Config{Getenv: getenv}).Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	id, err := awsiam.CallerIdentity(testwait.Context(t), http.DefaultClient, getenv, "", region, creds)
	if err != nil {
		t.Fatal(err)
	}
	if id.Account != "111122223333" || id.ARN != "arn:aws:iam::111122223333:user/dev" {
		t.Errorf("identity %+v", id)
	}
}

// STS's calls (GetCallerIdentity for status and doctor, AssumeRole of a
// role_arn profile) go where the profile's endpoint settings say, as
// init's calls do: its endpoint_url, or an sts endpoint_url of its
// services section; no AWS_ENDPOINT_URL* is set.
func TestSTSHonoursTheProfileEndpoint(t *testing.T) {
	var calls atomic.Int32
	front := sigv4test.New(region, "sts", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		calls.Add(1)
		switch r.Form.Get("Action") {
		case "GetCallerIdentity":
			_, _ = io.WriteString(w, `<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::111122223333:user/dev</Arn><UserId>AIDA</UserId><Account>111122223333</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`)
		case "AssumeRole":
			exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
			_, _ = io.WriteString(w, `<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAROLE</AccessKeyId><SecretAccessKey>role-secret</SecretAccessKey><SessionToken>role-token</SessionToken><Expiration>`+exp+`</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>`)
		default:
			http.Error(w, "bad action", 400)
		}
	}), sigv4test.Key{ID: keyID, Secret: secret})
	srv := httptest.NewServer(front)
	t.Cleanup(srv.Close)
	getenv := awsHome(t, fmt.Sprintf(`[profile dev]
region = %[1]s
aws_access_key_id = %[2]s
aws_secret_access_key = %[3]s
endpoint_url = %[4]s
[profile base]
aws_access_key_id = %[2]s
aws_secret_access_key = %[3]s
[profile role]
role_arn = arn:aws:iam::111122223333:role/Dev
source_profile = base
services = local
[services local]
sts =
  endpoint_url = %[4]s
`, region, keyID, secret, srv.URL), nil)
	ctx := testwait.Context(t)

	creds, err := awsiam.New(awsiam.Config{Profile: "dev", Region: region, Getenv: getenv}).Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id, err := awsiam.CallerIdentity(ctx, srv.Client(), getenv, "dev", region, creds)
	if err != nil || id.Account != "111122223333" {
		t.Errorf("GetCallerIdentity with the profile's endpoint_url: %+v, %v", id, err)
	}

	roleCreds, err := awsiam.New(awsiam.Config{Profile: "role", Region: region, Getenv: getenv, HTTPClient: srv.Client()}).Retrieve(ctx)
	if err != nil || roleCreds.AccessKeyID != "ASIAROLE" {
		t.Errorf("AssumeRole with the services section's sts endpoint_url: %q, %v", roleCreds.AccessKeyID, err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("the local STS got %d calls, want 2", n)
	}
}
