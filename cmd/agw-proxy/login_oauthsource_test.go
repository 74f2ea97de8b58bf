package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/secretsource"
	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/agw-proxy/agw-proxy/tokenstore/tokenstoretest"
)

// browserOnURL is login's stderr: it keeps what is written and, on the
// login's one-time URL, plays the user's browser on it (allow).
type browserOnURL struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	wg   sync.WaitGroup
	seen bool
}

var loginURLPattern = regexp.MustCompile(`http://127\.0\.0\.1:\d+/agw-proxy-login/\S+`)

func (b *browserOnURL) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if u := loginURLPattern.FindString(b.buf.String()); u != "" && !b.seen {
		b.seen = true
		b.wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, _ = gatewaysim.ConsentInBrowser(ctx, nil, u, "allow")
		})
	}
	return len(p), nil
}

func (b *browserOnURL) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// loginOAuthSource runs "agw-proxy login asana --no-browser" in this
// process for an oauth rule of app, with more flags and stdin, the browser
// played on the URL it prints.
func loginOAuthSource(t *testing.T, sim *gatewaysim.Sim, app gatewaysim.ProviderApp, kc *tokenstoretest.Fake, stdin string, more ...string) (stdout, stderr string, code int) {
	t.Helper()
	testwait.NoLeaks(t, idleConnections...)
	args := append([]string{"login", "asana", "--no-browser",
		"--gateway-url", sim.GatewayURL, "--auth-type", "none",
		"--inject", "X-Asana-Token=asana", "--inject-tools", gatewaysim.DefaultTargetName + "___*",
		"--inject-source", "oauth",
		"--inject-oauth-authorize-url", sim.ProviderURL + gatewaysim.ProviderAuthorizePath,
		"--inject-oauth-token-url", sim.ProviderURL + gatewaysim.ProviderTokenPath,
		"--inject-oauth-client-id", app.ClientID, "--inject-oauth-redirect-url", app.RedirectURL}, more...)
	var out bytes.Buffer
	errOut := &browserOnURL{}
	vars := map[string]string{envTestFake: registerFake(t, kc)}
	e := &env{testKeychain: testStore,
		stdin:         strings.NewReader(stdin),
		stdout:        &out,
		stderr:        errOut,
		getenv:        func(k string) string { return vars[k] },
		userConfigDir: func() (string, error) { return t.TempDir(), nil },
	}
	ctx := testwait.Context(t)
	code = run(ctx, args, e)
	testwait.Within(t, 15*time.Second, "the played browser", errOut.wg.Wait)
	return out.String(), errOut.String(), code
}

// loopbackRedirect is a free loopback callback URL.
func loopbackRedirect(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprintf("http://%s/callback", l.Addr())
}

// TestLoginOAuthSourceClientSecret: login asana --client-secret stores the
// app's client secret only once the token endpoint took it. For a public
// app, whose token endpoint refuses a client secret (invalid_client),
// nothing is stored and the error says to log in without
// --client-secret; a confidential app's wrong secret is not kept either.
func TestLoginOAuthSourceClientSecret(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	ctx := context.Background()
	csName, rtName := secretsource.ClientSecretName("asana"), secretsource.RefreshTokenName("asana")
	const given = "a-client-secret-the-user-pasted-0123456789"
	stored := func(kc *tokenstoretest.Fake, name string) bool {
		_, err := kc.Get(ctx, "default", name)
		if err != nil && !errors.Is(err, tokenstore.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}

	t.Run("public app, --client-secret", func(t *testing.T) {
		app := sim.RegisterProviderApp(loopbackRedirect(t), false)
		kc := tokenstoretest.NewFake()
		out, errOut, code := loginOAuthSource(t, sim, app, kc, given+"\n", "--client-secret")
		if code != exitError {
			t.Errorf("exit %d, want %d", code, exitError)
		}
		for _, want := range []string{
			`agw-proxy: error: the token endpoint of "asana" refused client ID ` + app.ClientID + ` with the client secret given, which was not stored: oauth: exchanging the authorization code: HTTP 401 (invalid_client)`,
			`agw-proxy: hint: if the OAuth app is public (it has no client secret and logs in with PKCE alone), run "agw-proxy login asana --gateway-url ` + sim.GatewayURL,
		} {
			if !strings.Contains(errOut, want) {
				t.Errorf("stderr lacks\n\t%s\nstderr:\n%s", want, errOut)
			}
		}
		if stored(kc, csName) || stored(kc, rtName) {
			t.Error("a refused login left the client secret or a refresh token in the keychain")
		}
		noLeak(t, []string{given}, out, errOut)
	})
	t.Run("public app, without", func(t *testing.T) {
		app := sim.RegisterProviderApp(loopbackRedirect(t), false)
		kc := tokenstoretest.NewFake()
		out, errOut, code := loginOAuthSource(t, sim, app, kc, "")
		if code != exitOK || !strings.Contains(out, `Logged in to "asana"`) {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		if stored(kc, csName) || !stored(kc, rtName) {
			t.Error("want the refresh token alone stored")
		}
	})
	t.Run("public app, a secret stored before", func(t *testing.T) {
		app := sim.RegisterProviderApp(loopbackRedirect(t), false)
		kc := tokenstoretest.NewFake()
		_ = kc.Set(ctx, "default", csName, given)
		_, errOut, code := loginOAuthSource(t, sim, app, kc, "")
		if code != exitError || !strings.Contains(errOut, `refused client ID `+app.ClientID+` with the client secret stored for it`) ||
			!strings.Contains(errOut, `agw-proxy: hint: if the OAuth app is public (no client secret), remove the stored one with "agw-proxy logout asana`) {
			t.Errorf("exit %d, stderr:\n%s", code, errOut)
		}
	})
	t.Run("confidential app", func(t *testing.T) {
		app := sim.RegisterProviderApp(loopbackRedirect(t), true)
		kc := tokenstoretest.NewFake()
		_, errOut, code := loginOAuthSource(t, sim, app, kc, "wrong-"+app.ClientSecret+"\n", "--client-secret")
		if code != exitError || !strings.Contains(errOut, "with the client secret given, which was not stored") || stored(kc, csName) {
			t.Errorf("wrong secret: exit %d, stored %v, stderr:\n%s", code, stored(kc, csName), errOut)
		}
		_, errOut, code = loginOAuthSource(t, sim, app, kc, "")
		if code != exitError || !strings.Contains(errOut, `agw-proxy: hint: if the OAuth app has a client secret, run "agw-proxy login asana`) {
			t.Errorf("no secret: exit %d, stderr:\n%s", code, errOut)
		}
		out, errOut, code := loginOAuthSource(t, sim, app, kc, app.ClientSecret+"\n", "--client-secret")
		if code != exitOK || !strings.Contains(out, `Stored the client secret for "asana"`) || !strings.Contains(out, `Logged in to "asana"`) {
			t.Fatalf("right secret: exit %d\n%s%s", code, out, errOut)
		}
		if got, _ := kc.Get(ctx, "default", csName); string(got) != app.ClientSecret || !stored(kc, rtName) {
			t.Error("the client secret and the refresh token are not both stored")
		}
		noLeak(t, []string{app.ClientSecret}, out, errOut)
	})
}
