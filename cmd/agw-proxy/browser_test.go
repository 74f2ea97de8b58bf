package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/secretsource"
	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/agw-proxy/agw-proxy/tokenstore/tokenstoretest"
)

func TestOpenerEnvHasNoAgwProxyVariables(t *testing.T) {
	in := []string{
		"PATH=/usr/bin", "AGW_PROXY_SECRET_ASANA=tok-1", "DISPLAY=:0", "AGW_PROXY_CLIENT_SECRET=cs-2",
		"AGW_PROXY_CONFIG=/c.yaml", "Agw_Proxy_Secret_Asana=tok-3", "AGW_PROXY_=x", "=C:=C:\\",
		"AGW_PROXYISH=kept", "XAGW_PROXY_SECRET=kept", "HOME=/home/me=x",
	}
	want := []string{"PATH=/usr/bin", "DISPLAY=:0", "=C:=C:\\", "AGW_PROXYISH=kept", "XAGW_PROXY_SECRET=kept", "HOME=/home/me=x"}
	if got := secretsource.ChildEnv(in); !slices.Equal(got, want) {
		t.Errorf("ChildEnv =\n%q\nwant\n%q", got, want)
	}
}

// openerDump is what the test opener wrote: its environment and argument.
type openerDump struct {
	env  []string
	argc string
	arg  string
	raw  string
}

// readOpenerDump waits (up to 20s) for the test opener's output at path.
func readOpenerDump(path string) (openerDump, error) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			d := openerDump{raw: string(b)}
			for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
				switch {
				case strings.HasPrefix(line, "OPENER_ARGC="):
					d.argc = strings.TrimPrefix(line, "OPENER_ARGC=")
				case strings.HasPrefix(line, "OPENER_ARG="):
					d.arg = strings.TrimPrefix(line, "OPENER_ARG=")
				default:
					d.env = append(d.env, line)
				}
			}
			return d, nil
		}
		if time.Now().After(deadline) {
			return openerDump{}, errors.New("the opener process wrote nothing within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBrowserLoginThroughTheOpener runs "agw-proxy login" (authorization
// code) against the emulator with a real opener process: a shell that
// records its environment and its argument. The browser, played by the
// test, is sent on that argument alone. The opener sees neither the state,
// nor the PKCE challenge, nor any AGW_PROXY_ variable, and the login
// completes.
func TestBrowserLoginThroughTheOpener(t *testing.T) {
	testwait.NoLeaks(t, idleConnections...)
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh for the test opener")
	}
	redirect := freeRedirectURL(t)
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{RedirectURL: redirect})
	const asanaSecret, clientSecret = "opener-test-asana-secret-5d1f0c2a9b71", "opener-test-client-secret-77e1a4c0f3e8"
	t.Setenv("AGW_PROXY_SECRET_ASANA", asanaSecret)
	t.Setenv("AGW_PROXY_CLIENT_SECRET", clientSecret)
	dump := filepath.Join(t.TempDir(), "opener.txt")
	t.Setenv("OPENER_TEST_OUT", dump)
	saved := browserOpener
	t.Cleanup(func() { browserOpener = saved })
	browserOpener = []string{sh, "-c",
		`{ env; printf 'OPENER_ARGC=%s\nOPENER_ARG=%s\n' "$#" "$0"; } > "$OPENER_TEST_OUT.tmp" && mv "$OPENER_TEST_OUT.tmp" "$OPENER_TEST_OUT"`}

	// The browser: it goes where the opener was told to, and follows the
	// redirects (the one-time URL, the emulator's authorize endpoint, the
	// callback).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	browsed := make(chan error, 1)
	go func() {
		d, err := readOpenerDump(dump)
		if err == nil {
			var resp *http.Response
			if resp, err = http.Get(d.arg); err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("agw-proxy is logged in")) {
					err = fmt.Errorf("callback page: HTTP %d", resp.StatusCode)
				}
			}
		}
		if err != nil {
			cancel() // the login waits for a callback that will not come
		}
		browsed <- err
	}()

	fake := tokenstoretest.NewFake()
	vars := map[string]string{envTestFake: registerFake(t, fake)}
	var stdout, stderr bytes.Buffer
	e := &env{testKeychain: testStore, stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		getenv: func(k string) string { return vars[k] }, userConfigDir: func() (string, error) { return t.TempDir(), nil }}
	code := run(ctx, []string{"login", "--gateway-url", sim.GatewayURL, "--auth-type", "authorization_code",
		"--discovery-url", sim.DiscoveryURL, "--client-id", sim.WebClientID, "--redirect-url", redirect,
		"--scope", "openid", "--scope", sim.Scope}, e)
	if err := <-browsed; err != nil {
		t.Fatalf("browser: %v\nlogin stderr:\n%s", err, stderr.String())
	}
	if code != exitOK || !strings.Contains(stdout.String(), "Logged in: the Gateway access token is valid until ") {
		t.Fatalf("login: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	if v, err := fake.Get(context.Background(), "default", tokenstore.RefreshTokenName); err != nil || v == "" {
		t.Errorf("no refresh token stored (err %v)", err)
	}

	d, err := readOpenerDump(dump)
	if err != nil {
		t.Fatal(err)
	}
	if d.argc != "0" || !strings.HasPrefix(d.arg, redirect+"agw-proxy-login/") ||
		strings.Contains(d.arg, "state") || strings.Contains(d.arg, "code_challenge") || strings.Contains(d.arg, "?") {
		t.Errorf("the opener's argument is %q (plus %s more), want the one-time URL alone", d.arg, d.argc)
	}
	if !strings.Contains(stderr.String(), "\n  "+d.arg+"\n") {
		t.Errorf("the printed URL is not the one the opener got:\n%s", stderr.String())
	}
	for _, kv := range d.env {
		if strings.HasPrefix(strings.ToUpper(kv), "AGW_PROXY_") {
			name, _, _ := strings.Cut(kv, "=")
			t.Errorf("the opener's environment holds %s", name)
		}
	}
	if !slices.Contains(d.env, "OPENER_TEST_OUT="+dump) || !slices.ContainsFunc(d.env, func(kv string) bool { return strings.HasPrefix(kv, "PATH=") }) {
		t.Errorf("the opener did not get the rest of the environment (%d variables)", len(d.env))
	}
	if err := leakcheck.Text(d.raw, asanaSecret, clientSecret); err != nil {
		t.Errorf("the opener process saw a secret: %v", err)
	}
}
