package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/httpguard"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/agw-proxy/agw-proxy/tokenstore/tokenstoretest"
)

// Redirects and oversized answers from the Gateway and Cognito, as the user
// of each command sees them.

// elsewhereSink is a server that must see nothing; where is its URL under
// the host name "localhost": another origin than 127.0.0.1, the same
// listener, so a request that follows a redirect there is counted.
type elsewhereSink struct {
	hits  atomic.Int64
	where string
}

func newElsewhere(t *testing.T) *elsewhereSink {
	t.Helper()
	s := &elsewhereSink{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		io.Copy(io.Discard, r.Body)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	s.where = "http://localhost:" + u.Port()
	return s
}

func (s *elsewhereSink) check(t *testing.T) {
	t.Helper()
	if n := s.hits.Load(); n != 0 {
		t.Errorf("another origin received %d requests, want none", n)
	}
}

// frontDoor passes requests to target (an emulator URL) except those that
// answer takes (it returns true when it answered).
func frontDoor(t *testing.T, target string, answer func(w http.ResponseWriter, r *http.Request, body []byte) bool) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if !answer(w, r, body) {
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + u.Path
}

func redirect(w http.ResponseWriter, status int, to string) {
	w.Header().Set("Location", to)
	w.WriteHeader(status)
}

// TestHTTPClientIsGuarded: the one client of serve, login, status and
// doctor (Gateway, token endpoint, discovery) is guarded, and keeps the
// proxy from the environment.
func TestHTTPClientIsGuarded(t *testing.T) {
	sink := newElsewhere(t)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirect(w, http.StatusFound, sink.where+"/.well-known/openid-configuration")
	}))
	defer front.Close()
	c, err := httpClient(&profile.Profile{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, front.URL, nil)
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	if !errors.As(err, new(*httpguard.RedirectError)) {
		t.Errorf("a redirect to another origin: %v, want a *httpguard.RedirectError", err)
	}
	sink.check(t)
	if tr, ok := httpguard.Base(c).(*http.Transport); !ok || tr.Proxy == nil {
		t.Error("the guarded client lost its transport or HTTPS_PROXY")
	}
}

// TestLoginTokenEndpointRedirect: a token endpoint that redirects the
// request gets nothing sent on, and login says what to fix.
func TestLoginTokenEndpointRedirect(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	sink := newElsewhere(t)
	tokenURL := frontDoor(t, sim.TokenURL, func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		redirect(w, http.StatusTemporaryRedirect, sink.where+"/oauth2/token?copy=1")
		return true
	})
	fake := tokenstoretest.NewFake()
	vars := map[string]string{envTestFake: registerFake(t, fake)}
	out, errOut, code := runInProcess(t, vars, sim.ClientSecret+"\n", "login",
		"--gateway-url", sim.GatewayURL, "--token-url", tokenURL, "--client-id", sim.ClientID, "--scope", sim.Scope)
	if code != exitError {
		t.Errorf("exit %d, want %d", code, exitError)
	}
	for _, want := range []string{
		"agw-proxy: error: ",
		"refused to follow a redirect (HTTP 307) of a POST to " + sink.where + ": ",
		"; nothing stored\n",
		"agw-proxy: hint: check auth.token_url (--token-url): it must be the token endpoint itself",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "copy=1") {
		t.Error("the error quotes the Location's query")
	}
	if _, err := fake.Get(context.Background(), "default", tokenstore.ClientSecretName); !errors.Is(err, tokenstore.ErrNotFound) {
		t.Errorf("the client secret was stored (err %v)", err)
	}
	if err := leakcheck.Lines(out+errOut, sim.ClientSecret); err != nil {
		t.Error(err)
	}
	sink.check(t)
}

// TestDoctorRedirects: doctor reports a redirect to another origin from the
// Gateway or the token endpoint as a failure with a hint, and follows none.
func TestDoctorRedirects(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	sink := newElsewhere(t)
	elsewhere := func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		status := http.StatusTemporaryRedirect
		if r.Method == http.MethodGet {
			status = http.StatusFound
		}
		redirect(w, status, sink.where+r.URL.Path+"?copy=1")
		return true
	}
	never := regexp.QuoteMeta("    hint: agw-proxy never follows a redirect of a POST, nor one to another origin (it would send credentials there): set the URL to the endpoint itself")

	gw := frontDoor(t, sim.GatewayURL, elsewhere)
	r := runDoctorCase(t, doctorCase{sim: sim, vars: secretsInEnv(sim), args: []string{"--gateway-url", gw}})
	wantDoctorCode(t, r, exitError)
	wantDoctorLines(t, r,
		`✓ token: .*`,
		`✗ connection to 127\.0\.0\.1:[0-9]+: Get ".*": httpguard: refused to follow a redirect \(HTTP 302\) of a GET to `+regexp.QuoteMeta(sink.where)+`: it leads to another origin than http://127\.0\.0\.1:[0-9]+`,
		never,
	)

	tok := frontDoor(t, sim.TokenURL, elsewhere)
	r = runDoctorCase(t, doctorCase{sim: sim, vars: secretsInEnv(sim), args: []string{"--token-url", tok}})
	wantDoctorCode(t, r, exitError)
	wantDoctorLines(t, r,
		`✗ token: .*httpguard: refused to follow a redirect \(HTTP 307\) of a POST to `+regexp.QuoteMeta(sink.where)+`: .*`,
		never,
		`    hint: check auth.token_url \(--token-url\): .*`,
	)
	if strings.Contains(r.stdout+r.stderr, "copy=1") {
		t.Error("doctor quotes a Location's query")
	}
	sink.check(t)
}

// TestEndToEndRedirectedCallGoesNowhere: through the real binary, a Gateway
// that answers tools/call with a 307 to another origin gets an isError
// result back, and the other origin sees nothing.
func TestEndToEndRedirectedCallGoesNowhere(t *testing.T) {
	sim := e2eSim(t, gatewaysim.Options{})
	sink := newElsewhere(t)
	gw := frontDoor(t, sim.GatewayURL, func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if !bytes.Contains(body, []byte(`"method":"tools/call"`)) {
			return false
		}
		redirect(w, http.StatusTemporaryRedirect, sink.where+"/mcp?copy=1")
		return true
	})
	var stderr syncBuffer
	cmd := e2eServeCmd(t, sim, e2eAsanaToken, "--gateway-url", gw, "--log-level", "debug")
	cmd.Stderr = &stderr
	cs := e2eConnect(t, cmd)
	text, isError := e2eCall(t, cs, gatewaysim.DefaultTargetName+"___asanaInvoke", map[string]any{"tool_name": "list_projects"})
	if !isError || !strings.Contains(text, "a redirect (HTTP 307) to "+sink.where+", which agw-proxy does not follow: the call was not sent on") {
		t.Errorf("the call got %q (isError %v), want an isError result naming the redirect's origin", text, isError)
	}
	if strings.Contains(text, "copy=1") {
		t.Error("the result quotes the Location's query")
	}
	if n := len(sim.Received()); n != 0 {
		t.Errorf("the target received %d requests, want none", n)
	}
	sink.check(t)
	cs.Close()
	if err := leakcheck.Lines(text+"\n"+stderr.String(), e2eAsanaToken, sim.ClientSecret); err != nil {
		t.Error(err)
	}
}

// TestEndToEndEventBombIsBounded: through the real binary, a Gateway that
// answers tools/call with one endless event gets an isError result back,
// and the process stays far below the event's size.
func TestEndToEndEventBombIsBounded(t *testing.T) {
	const bomb = 1 << 30
	sim := e2eSim(t, gatewaysim.Options{})
	gw := frontDoor(t, sim.GatewayURL, func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if !bytes.Contains(body, []byte(`"method":"tools/call"`)) {
			return false
		}
		w.Header().Set("Content-Type", "text/event-stream")
		block := []byte(strings.Repeat("data: "+strings.Repeat("x", 113)+"\n", 512))
		for sent := 0; sent < bomb; sent += len(block) {
			if _, err := w.Write(block); err != nil {
				break
			}
		}
		return true
	})
	cmd := e2eServeCmd(t, sim, e2eAsanaToken, "--gateway-url", gw)
	cs := e2eConnect(t, cmd)
	text, isError := e2eCall(t, cs, gatewaysim.DefaultTargetName+"___asanaInvoke", map[string]any{"tool_name": "list_projects"})
	if !isError || !strings.Contains(text, "is larger than 32 MiB") {
		t.Errorf("the call got %q (isError %v), want an isError result naming the 32 MiB event limit", text, isError)
	}
	// The proxy is still there for the next request.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cs.ListTools(ctx, nil); err != nil {
		t.Errorf("tools/list after the bomb: %v", err)
	}
	if peak, ok := peakRSS(cmd.Process.Pid); ok {
		t.Logf("peak RSS of the proxy: %d MiB", peak>>20)
		if peak > 384<<20 {
			t.Errorf("the proxy's peak RSS was %d MiB reading a %d MiB event, want under 384 MiB", peak>>20, bomb>>20)
		}
	}
}

// peakRSS returns a process's peak resident set size, where the system
// tells (Linux).
func peakRSS(pid int) (int64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	m := regexp.MustCompile(`(?m)^VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return 0, false
	}
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb << 10, true
}
