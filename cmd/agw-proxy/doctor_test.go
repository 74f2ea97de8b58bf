package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/agw-proxy/agw-proxy/configs"
	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/agw-proxy/agw-proxy/tokenstore/tokenstoretest"
)

// doctorAsanaToken is the injected secret of the doctor tests.
const doctorAsanaToken = "1/doctor-test-asana-token-8125"

// doctorRun is one in-process run of agw-proxy doctor.
type doctorRun struct {
	code   int
	stdout string
	stderr string
}

// doctorCase sets up a run: the emulator, the secrets and the arguments.
type doctorCase struct {
	sim     *gatewaysim.Sim
	vars    map[string]string    // environment; AGW_PROXY_TEST_FAKE is added
	keyring *tokenstoretest.Fake // the keychain; nil: an empty fake
	args    []string             // after the emulator's profile flags
	// noProfile leaves out the emulator's profile flags.
	noProfile bool
}

// runDoctor runs doctor against c.sim with the emulator's profile (client
// credentials at the token URL, rule X-Asana-Token=asana over the default
// target) and c.args after it, which override.
func runDoctorCase(t *testing.T, c doctorCase) doctorRun {
	t.Helper()
	testwait.NoLeaks(t, idleConnections...)
	if c.keyring == nil {
		c.keyring = tokenstoretest.NewFake()
	}
	vars := map[string]string{envTestFake: registerFake(t, c.keyring)}
	for k, v := range c.vars {
		vars[k] = v
	}
	var args []string
	if !c.noProfile {
		args = []string{"--connect-timeout", "5s",
			"--gateway-url", c.sim.GatewayURL, "--token-url", c.sim.TokenURL,
			"--client-id", c.sim.ClientID, "--scope", c.sim.Scope,
			"--inject", "X-Asana-Token=asana", "--inject-tools", gatewaysim.DefaultTargetName + "___*"}
	}
	args = append(append([]string{"doctor"}, args...), c.args...)
	var stdout, stderr syncBuffer
	dir := t.TempDir()
	e := &env{testKeychain: testStore,
		stdin:         strings.NewReader(""),
		stdout:        &stdout,
		stderr:        &stderr,
		getenv:        func(k string) string { return vars[k] },
		userConfigDir: func() (string, error) { return dir, nil },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := doctorRun{code: run(ctx, args, e), stdout: stdout.String(), stderr: stderr.String()}
	checkNoSecrets(t, r, c)
	return r
}

// checkNoSecrets fails the test when a secret or an access token appears in
// the output. It never prints the secret.
func checkNoSecrets(t *testing.T, r doctorRun, c doctorCase) {
	t.Helper()
	secrets := []string{doctorAsanaToken, c.sim.ClientSecret}
	for _, v := range c.vars {
		if len(v) >= 8 && !strings.Contains(v, "/") && !strings.HasPrefix(v, "http") {
			secrets = append(secrets, v)
		}
	}
	for _, out := range []struct{ name, text string }{{"stdout", r.stdout}, {"stderr", r.stderr}} {
		for i, s := range secrets {
			if strings.Contains(out.text, s) {
				t.Errorf("secret %d leaked to %s", i, out.name)
			}
		}
		// Cognito access tokens are JWTs: base64url JSON, "eyJ...".
		if strings.Contains(out.text, "eyJ") {
			t.Errorf("an access token (eyJ...) leaked to %s", out.name)
		}
	}
}

// wantLines checks that each pattern matches a whole line of out.
func wantDoctorLines(t *testing.T, r doctorRun, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(`(?m)^` + p + `$`).MatchString(r.stdout) {
			t.Errorf("no line matching\n\t%s\nin stdout:\n%s", p, r.stdout)
		}
	}
}

func wantDoctorCode(t *testing.T, r doctorRun, code int) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

// secretsInEnv are the emulator's client secret and the Asana token, given
// through the environment override.
func secretsInEnv(sim *gatewaysim.Sim) map[string]string {
	return map[string]string{"AGW_PROXY_CLIENT_SECRET": sim.ClientSecret, "AGW_PROXY_SECRET_ASANA": doctorAsanaToken}
}

func TestDoctorHealthy(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	common := []string{"--connect-timeout", "5s", "--gateway-url", sim.GatewayURL, "--client-id", sim.ClientID, "--scope", sim.Scope,
		"--inject", "X-Asana-Token=asana", "--inject-tools", gatewaysim.DefaultTargetName + "___*"}
	for _, tc := range []struct {
		name string
		args []string
		more []string // further lines expected
	}{
		{"token URL", append([]string{"--token-url", sim.TokenURL}, common...), nil},
		{"discovery URL", append([]string{"--discovery-url", sim.DiscoveryURL}, common...), []string{
			`✓ discovery: issuer ` + regexp.QuoteMeta(sim.Issuer) + `, token endpoint ` + regexp.QuoteMeta(sim.TokenURL),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The client secret in the keychain, the Asana token in the environment.
			kc := tokenstoretest.NewFake()
			if err := kc.Set(context.Background(), "default", tokenstore.ClientSecretName, tokenstore.Secret(sim.ClientSecret)); err != nil {
				t.Fatal(err)
			}
			r := runDoctorCase(t, doctorCase{sim: sim, keyring: kc, noProfile: true, args: tc.args,
				vars: map[string]string{"AGW_PROXY_SECRET_ASANA": doctorAsanaToken}})
			wantDoctorCode(t, r, exitOK)
			wantDoctorLines(t, r, append([]string{
				`✓ config: profile "default" from flags \(no config file at .*config.yaml\); gateway ` + regexp.QuoteMeta(sim.GatewayURL) + `, auth client_credentials, 1 inject rule`,
				`✓ keychain: reachable`,
				`✓ secret "client-secret" \(the Gateway's client secret\): present in the keychain`,
				`✓ secret "asana" \(injected as X-Asana-Token\): present in the environment \(AGW_PROXY_SECRET_ASANA\)`,
				`✓ token: obtained from ` + regexp.QuoteMeta(sim.TokenURL) + `, valid for (59m[0-9]+s|1h0m0s) \(until .*Z\); local clock in step with the token's issue time \(iat\)`,
				`✓ proxy: none for 127.0.0.1 \(loopback hosts never use a proxy\)`,
				`✓ connection to 127\.0\.0\.1:[0-9]+: HTTP 401, plain http:// \(allowed on loopback only\)`,
				`✓ mcp: protocol 2026-07-28 \(stateless: server/discover, no session\), server "agentcore-gateway-sim" version .*`,
				`✓ tools/list: 1 tool: AgentCoreGwyAPIGatewayTarget___\* \(1\)`,
				`✓ inject rule 1 \(X-Asana-Token=asana, tools "AgentCoreGwyAPIGatewayTarget___\*"\): fills X-Asana-Token in 1 tool \(AgentCoreGwyAPIGatewayTarget___asanaInvoke\)`,
				`All 1[01] checks passed\.`,
			}, tc.more...)...)
			if strings.Contains(r.stdout, markFail) {
				t.Errorf("a check failed:\n%s", r.stdout)
			}
			if r.stderr != "" {
				t.Errorf("stderr: %s", r.stderr)
			}
			if kc.Calls("get") == 0 {
				t.Error("the keychain was never asked")
			}
		})
	}
}

// TestDoctorOrder: the checks come in the documented order.
func TestDoctorOrder(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	r := runDoctorCase(t, doctorCase{sim: sim, vars: secretsInEnv(sim)})
	wantDoctorCode(t, r, exitOK)
	var got []string
	for _, line := range strings.Split(r.stdout, "\n") {
		if name, _, ok := strings.Cut(strings.TrimPrefix(line, markPass+" "), ":"); ok && strings.HasPrefix(line, markPass) {
			got = append(got, strings.Fields(name)[0])
		}
	}
	want := "config keychain secret secret token proxy connection mcp tools/list inject"
	if strings.Join(got, " ") != want {
		t.Errorf("checks in order %q, want %q", strings.Join(got, " "), want)
	}
	// Every secret comes from the environment: the keychain is not needed.
	wantDoctorLines(t, r, `✓ keychain: not needed \(every secret of the profile is set in the environment\)`)
}

func TestDoctorWrongClientSecret(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	const wrong = "wrong-client-secret-0123456789abcdef"

	t.Run("from the environment", func(t *testing.T) {
		vars := secretsInEnv(sim)
		vars["AGW_PROXY_CLIENT_SECRET"] = wrong
		r := runDoctorCase(t, doctorCase{sim: sim, vars: vars})
		// A login does not help while the environment variable wins.
		wantDoctorCode(t, r, exitError)
		wantDoctorLines(t, r,
			`✗ token: the token endpoint rejected the client credentials: .*invalid_client.*`,
			`    hint: AGW_PROXY_CLIENT_SECRET is set and wins over the keychain: correct it, or unset it to use the stored secret`,
			`✗ mcp: skipped \(no Gateway token\)`,
			`✗ tools/list: skipped \(no MCP session\)`,
			`✗ inject rule 1 .*: skipped \(no tool list\)`,
			`✓ connection to .*`,
			`1 of 10 checks failed, 3 skipped\.`,
		)
	})
	t.Run("from the keychain", func(t *testing.T) {
		kc := tokenstoretest.NewFake()
		_ = kc.Set(context.Background(), "default", tokenstore.ClientSecretName, wrong)
		r := runDoctorCase(t, doctorCase{sim: sim, keyring: kc, vars: map[string]string{"AGW_PROXY_SECRET_ASANA": doctorAsanaToken, "wrong": wrong}})
		wantDoctorCode(t, r, exitLoginNeeded)
		wantDoctorLines(t, r,
			`✗ token: the token endpoint rejected the stored credential: .*`,
			`    hint: run "agw-proxy login .*"`,
		)
	})
}

func TestDoctorWrongGatewayURL(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	wrongURL := strings.TrimSuffix(sim.GatewayURL, "/mcp") + "/gateway/mcp"
	r := runDoctorCase(t, doctorCase{sim: sim, vars: secretsInEnv(sim), args: []string{"--gateway-url", wrongURL}})
	wantDoctorCode(t, r, exitError)
	wantDoctorLines(t, r,
		`✓ token: .*`,
		`✓ connection to 127\.0\.0\.1:[0-9]+: HTTP 404, .*`,
		`✗ mcp: the Gateway URL was not found \(HTTP 404\): .*`,
		`    hint: check gateway_url \(--gateway-url\): the Gateway's MCP endpoint is https://GATEWAY_ID\.gateway\.bedrock-agentcore\.REGION\.amazonaws\.com/mcp`,
		`✗ tools/list: skipped \(no MCP session\)`,
	)
}

// closedPort returns a loopback address where nothing listens.
func closedDoctorPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestDoctorUnreachableHost(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	addr := closedDoctorPort(t)
	start := time.Now()
	r := runDoctorCase(t, doctorCase{sim: sim, vars: secretsInEnv(sim), args: []string{"--gateway-url", "http://" + addr + "/mcp"}})
	wantDoctorCode(t, r, exitError)
	wantDoctorLines(t, r,
		`✓ token: .*`,
		`✗ connection to `+regexp.QuoteMeta(addr)+`: connection refused: .*`,
		`    hint: nothing listens there: check the host and port in the URL`,
		`✗ mcp: skipped \(the Gateway host is not reachable\)`,
		`✗ tools/list: skipped \(no MCP session\)`,
	)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("doctor took %s for a refused connection", d)
	}

	t.Run("token endpoint", func(t *testing.T) {
		r := runDoctorCase(t, doctorCase{sim: sim, vars: secretsInEnv(sim), args: []string{"--token-url", "http://" + addr + "/oauth2/token"}})
		wantDoctorCode(t, r, exitError)
		wantDoctorLines(t, r,
			`✗ token: connection refused: .*`,
			`    hint: check auth.token_url \(--token-url\): .*`,
			`✓ connection to .*`,
			`✗ mcp: skipped \(no Gateway token\)`,
		)
	})
}

// TestDoctorTimeout: a Gateway that accepts connections and never answers
// is a failure after the connect timeout, not a hang.
func TestDoctorTimeout(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	start := time.Now()
	r := runDoctorCase(t, doctorCase{sim: sim, vars: secretsInEnv(sim),
		args: []string{"--gateway-url", "http://" + l.Addr().String() + "/mcp", "--connect-timeout", "300ms"}})
	wantDoctorCode(t, r, exitError)
	wantDoctorLines(t, r,
		`✗ connection to .*: no answer within 300ms`,
		`    hint: raise --connect-timeout \(timeouts.connect\) if the network is just slow`,
	)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("doctor took %s with a 300ms connect timeout", d)
	}
}

func TestDoctorMissingSecret(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	vars := secretsInEnv(sim)
	delete(vars, "AGW_PROXY_SECRET_ASANA")
	r := runDoctorCase(t, doctorCase{sim: sim, vars: vars})
	// Only a login is missing: exit 4, and everything else still checked.
	wantDoctorCode(t, r, exitLoginNeeded)
	wantDoctorLines(t, r,
		`✓ keychain: reachable`,
		`✗ secret "asana" \(injected as X-Asana-Token\): missing`,
		`    hint: run "agw-proxy login asana .*"`,
		`    hint: or set AGW_PROXY_SECRET_ASANA in the environment \(CI, containers\)`,
		`✓ tools/list: .*`,
		`✓ inject rule 1 .*`,
		`1 of 10 checks failed\.`,
	)

	t.Run("gateway credential", func(t *testing.T) {
		r := runDoctorCase(t, doctorCase{sim: sim, vars: map[string]string{"AGW_PROXY_SECRET_ASANA": doctorAsanaToken}})
		wantDoctorCode(t, r, exitLoginNeeded)
		wantDoctorLines(t, r,
			`✗ secret "client-secret" \(the Gateway's client secret\): missing`,
			`    hint: run "agw-proxy login --gateway-url .*"`,
			`    hint: or set AGW_PROXY_CLIENT_SECRET in the environment \(CI, containers\)`,
			`✗ token: skipped \(no Gateway credential \(secret "client-secret"\)\)`,
		)
	})
}

func TestDoctorKeychainHangs(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	kc := tokenstoretest.NewFake()
	kc.Hang(time.Hour)
	defer func(d time.Duration) { doctorKeychainTimeout = d }(doctorKeychainTimeout)
	doctorKeychainTimeout = 300 * time.Millisecond
	vars := secretsInEnv(sim)
	delete(vars, "AGW_PROXY_CLIENT_SECRET")
	start := time.Now()
	r := runDoctorCase(t, doctorCase{sim: sim, keyring: kc, vars: vars})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("doctor took %s with a hanging keychain", d)
	}
	wantDoctorCode(t, r, exitError)
	wantDoctorLines(t, r,
		`✗ keychain: not reachable: tokenstore: keychain did not answer in time \(no answer within 300ms\)`,
		`    hint: unlock the keychain .*`,
		`✗ secret "client-secret" \(the Gateway's client secret\): skipped \(the keychain is not reachable\)`,
		// The environment still provides this one.
		`✓ secret "asana" \(injected as X-Asana-Token\): present in the environment \(AGW_PROXY_SECRET_ASANA\)`,
		`✗ token: skipped .*`,
		`✓ connection to .*`,
	)
}

func TestDoctorRuleMatchesNoTool(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	for _, tc := range []struct {
		glob string
		hint string
	}{
		{"AgentCoreGwyAPIGatewayTaget___*", `    hint: near misses: AgentCoreGwyAPIGatewayTarget___asanaInvoke`},
		{"agentcoregwyapigatewaytarget___*", `    hint: near misses: AgentCoreGwyAPIGatewayTarget___asanaInvoke`},
		{"JiraTarget___*", `    hint: the Gateway's tools: AgentCoreGwyAPIGatewayTarget___\* \(1\)`},
	} {
		t.Run(tc.glob, func(t *testing.T) {
			r := runDoctorCase(t, doctorCase{sim: sim, vars: secretsInEnv(sim), noProfile: true, args: []string{
				"--gateway-url", sim.GatewayURL, "--token-url", sim.TokenURL, "--client-id", sim.ClientID, "--scope", sim.Scope,
				"--inject", "X-Asana-Token=asana", "--inject-tools", tc.glob,
			}})
			wantDoctorCode(t, r, exitError)
			wantDoctorLines(t, r,
				`✓ tools/list: .*`,
				`✗ inject rule 1 \(X-Asana-Token=asana, tools "`+regexp.QuoteMeta(tc.glob)+`"\): the globs match no tool`,
				tc.hint,
				`    hint: fix the tools globs \(--inject-tools\); globs use \* \? and \[\.\.\.\] and match whole names, case-sensitively`,
				`1 of 10 checks failed\.`,
			)
		})
	}
}

func TestDoctorRuleArgumentMisspelled(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	for _, tc := range []struct {
		arg  string
		hint string
	}{
		{"X-Asana-Tokn", `    hint: did you mean "X-Asana-Token"\? \(arguments are case-sensitive\)`},
		{"x-asana-token", `    hint: did you mean "X-Asana-Token"\? \(arguments are case-sensitive\)`},
		{"Authorization", `    hint: those tools declare: X-Asana-Token, .*tool_name.*`},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			r := runDoctorCase(t, doctorCase{sim: sim, vars: secretsInEnv(sim), noProfile: true, args: []string{
				"--gateway-url", sim.GatewayURL, "--token-url", sim.TokenURL, "--client-id", sim.ClientID, "--scope", sim.Scope,
				"--inject", tc.arg + "=asana", "--inject-tools", gatewaysim.DefaultTargetName + "___*",
			}})
			wantDoctorCode(t, r, exitError)
			wantDoctorLines(t, r,
				`✗ inject rule 1 \(`+tc.arg+`=asana, .*\): the globs match 1 tool \(AgentCoreGwyAPIGatewayTarget___asanaInvoke\), but none declares argument "`+tc.arg+`"`,
				tc.hint,
				`    hint: fix the argument \(--inject\)`,
			)
		})
	}
}

// TestDoctorConfigFile: positions in hints point into the file, and a
// broken profile skips the rest.
func TestDoctorConfigFile(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	writeDoctorFile(t, cfg, fmt.Sprintf(`profiles:
  default:
    gateway_url: %s
    auth:
      token_url: %s
      client_id: %s
      scopes: [%s]
    inject:
      - argument: X-Asana-Token
        secret: asana
        tools: ["AgentCoreGwyAPIGatewayTarget___*"]
      - argument: X-Asana-Tokn
        secret: asana
        tools: ["AgentCoreGwyAPIGatewayTarget___*"]
`, sim.GatewayURL, sim.TokenURL, sim.ClientID, sim.Scope))
	r := runDoctorCase(t, doctorCase{sim: sim, vars: secretsInEnv(sim), noProfile: true, args: []string{"--config", cfg}})
	wantDoctorCode(t, r, exitError)
	wantDoctorLines(t, r,
		`✓ config: profile "default" in `+regexp.QuoteMeta(cfg)+`; gateway .*, auth client_credentials, 2 inject rules`,
		`✓ inject rule 1 .*`,
		`✗ inject rule 2 \(X-Asana-Tokn=asana, .*`,
		`    hint: fix the argument \(`+regexp.QuoteMeta(cfg)+`:12:19\)`,
	)

	writeDoctorFile(t, cfg, "profiles:\n  default:\n    gateway_url: http://gw.example.com/mcp\n")
	r = runDoctorCase(t, doctorCase{sim: sim, vars: secretsInEnv(sim), noProfile: true, args: []string{"--config", cfg}})
	wantDoctorCode(t, r, exitError)
	wantDoctorLines(t, r,
		`✗ config: `+regexp.QuoteMeta(cfg)+`:3:18: gateway_url: must use https://`,
		`    hint: http:// is allowed only for loopback hosts .*`,
		`✗ other checks: skipped \(no valid profile\)`,
	)
}

func writeDoctorFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// tlsFront serves target (the emulator's Gateway) over HTTPS with
// httptest's certificate (for 127.0.0.1, ::1, example.com and
// *.example.com), and writes that certificate as a PEM CA file.
func tlsFront(target string) (srv *httptest.Server, caFile string, err error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, "", err
	}
	u.Path = ""
	rp := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(u) },
		FlushInterval: -1,
	}
	// The request is read whole before it is forwarded: net/http's server
	// closes a request body once the answer's header is written, and a
	// ReverseProxy's Transport may still read it then (its check for bytes
	// past the end), which makes it drop the upstream connection mid-answer
	// (golang/go#40747): a flaky unexpected EOF for the client.
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		rp.ServeHTTP(w, r)
	}))
	// Failed handshakes are what some tests are about: do not log them.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	f, err := os.CreateTemp("", "agw-doctor-ca-*.pem")
	if err != nil {
		srv.Close()
		return nil, "", err
	}
	defer f.Close()
	if err := pem.Encode(f, &pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}); err != nil {
		srv.Close()
		return nil, "", err
	}
	return srv, f.Name(), nil
}

func TestDoctorTLS(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	front, caFile, err := tlsFront(sim.GatewayURL)
	if err != nil {
		t.Fatal(err)
	}
	defer front.Close()
	defer os.Remove(caFile)
	gw := front.URL + "/mcp"

	t.Run("unknown CA", func(t *testing.T) {
		r := runDoctorCase(t, doctorCase{sim: sim, vars: secretsInEnv(sim), args: []string{"--gateway-url", gw}})
		wantDoctorCode(t, r, exitError)
		wantDoctorLines(t, r,
			`✗ connection to 127\.0\.0\.1:[0-9]+: certificate signed by an unknown authority \(issuer "Acme Co"\)`,
			`    hint: behind a corporate proxy that inspects TLS, pass --ca-file FILE \(or set ca_file in the profile\) with your company's root CA certificate in PEM`,
			`✗ mcp: skipped \(the Gateway host is not reachable\)`,
		)
	})
	t.Run("--ca-file", func(t *testing.T) {
		r := runDoctorCase(t, doctorCase{sim: sim, vars: secretsInEnv(sim), args: []string{"--gateway-url", gw, "--ca-file", caFile}})
		wantDoctorCode(t, r, exitOK)
		wantDoctorLines(t, r,
			`    note: extra CA certificates from `+regexp.QuoteMeta(caFile),
			`✓ connection to 127\.0\.0\.1:[0-9]+: HTTP 401, TLS 1\.3, certificate for example\.com, \*\.example\.com, 127\.0\.0\.1, ::1 issued by "Acme Co", valid until 2084-01-29`,
			`✓ mcp: .*`,
			`✓ inject rule 1 .*`,
		)
	})
	t.Run("ca_file without the CA", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "other.pem")
		writeDoctorFile(t, other, otherCAPEM(t))
		r := runDoctorCase(t, doctorCase{sim: sim, vars: secretsInEnv(sim), args: []string{"--gateway-url", gw, "--ca-file", other}})
		wantDoctorCode(t, r, exitError)
		wantDoctorLines(t, r,
			`✗ connection to .*: certificate signed by an unknown authority .*`,
			`    hint: the CA file `+regexp.QuoteMeta(other)+` is in use but does not hold the CA that signed this certificate: add that CA \(PEM\) to it`,
		)
	})
	t.Run("ca_file not PEM", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.pem")
		writeDoctorFile(t, bad, "not a certificate\n")
		r := runDoctorCase(t, doctorCase{sim: sim, vars: secretsInEnv(sim), args: []string{"--gateway-url", gw, "--ca-file", bad}})
		wantDoctorCode(t, r, exitUsage) // a flag value that cannot be used, as in every command
		wantDoctorLines(t, r,
			`✗ config: --ca-file: no certificates found in `+regexp.QuoteMeta(bad),
			`    hint: the file must hold PEM certificates \(-----BEGIN CERTIFICATE-----\)`,
			`✗ other checks: skipped \(no valid profile\)`,
		)
	})
	t.Run("http to a TLS port", func(t *testing.T) {
		r := runDoctorCase(t, doctorCase{sim: sim, vars: secretsInEnv(sim), args: []string{"--gateway-url", strings.Replace(gw, "https://", "http://", 1)}})
		wantDoctorCode(t, r, exitError)
		wantDoctorLines(t, r, `✓ connection to .*: HTTP 400, plain http:// \(allowed on loopback only\)`)
	})
}

// otherCAPEM returns a fresh self-signed CA certificate that signed nothing.
func otherCAPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Other Test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// TestDoctorDiscoveryRequiresHTTPS: an endpoint from the discovery
// document must be https:// (or loopback), like a configured one; serve
// refuses it too.
func TestDoctorDiscoveryRequiresHTTPS(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	disc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"issuer":"https://cognito-idp.us-east-1.amazonaws.com/pool","token_endpoint":"http://auth.example.com/oauth2/token","authorization_endpoint":"https://auth.example.com/oauth2/authorize"}`)
	}))
	defer disc.Close()
	r := runDoctorCase(t, doctorCase{sim: sim, vars: secretsInEnv(sim), noProfile: true, args: []string{
		"--gateway-url", sim.GatewayURL, "--discovery-url", disc.URL, "--client-id", sim.ClientID,
	}})
	wantDoctorCode(t, r, exitError)
	wantDoctorLines(t, r,
		`✗ discovery: the discovery document at `+regexp.QuoteMeta(disc.URL)+` gives token_endpoint "http://auth\.example\.com/oauth2/token": an https:// URL is required`,
		`✗ token: skipped \(no token endpoint: discovery failed\)`,
	)

	// serve's path (profile.endpoints) refuses it as well.
	p := profile.New("default")
	p.Auth = profile.Auth{Type: profile.AuthClientCredentials, DiscoveryURL: disc.URL, ClientID: "c"}
	if _, _, err := endpoints(t.Context(), p, http.DefaultClient); err == nil || !strings.Contains(err.Error(), "https:// URL is required") {
		t.Errorf("endpoints accepted an http:// token endpoint from discovery: %v", err)
	}
}

// TestDoctorClockSkew: the skew between the local clock and the token's
// issuer is reported, with a note when it is large.
func TestDoctorClockSkew(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	sim.SetClockSkew(-10 * time.Minute)
	r := runDoctorCase(t, doctorCase{sim: sim, vars: secretsInEnv(sim)})
	wantDoctorCode(t, r, exitOK)
	wantDoctorLines(t, r,
		`✓ token: .*; local clock 10m[01]s ahead of the token's issue time \(iat\)`,
		`    note: agw-proxy copes \(it times tokens by expires_in\), but TLS certificate checks and the browser login need a correct clock: sync it \(NTP\)`,
	)
}

func TestDoctorAuthNone(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{AllowedClients: []string{}})
	r := runDoctorCase(t, doctorCase{sim: sim, noProfile: true, args: []string{"--gateway-url", sim.GatewayURL}})
	// The emulator's authorizer still wants a token.
	wantDoctorCode(t, r, exitError)
	wantDoctorLines(t, r,
		`✓ keychain: not needed \(the profile uses no secrets\)`,
		`✓ token: not needed \(auth type none\)`,
		`✓ connection to .*: HTTP 401, plain http:// \(allowed on loopback only\); local clock in step with the server's Date header`,
		`✗ mcp: the Gateway refused the access token: .*`,
	)
}

func TestDoctorUsage(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	r := runDoctorCase(t, doctorCase{sim: sim, noProfile: true, args: []string{"--help"}})
	wantDoctorCode(t, r, exitOK)
	for _, s := range []string{"Usage:\n    agw-proxy doctor [options]", "\nChecks:\n", "\nOptions:\n", "\nExamples:\n", "Exit status: 0 when every check passed; 4", "--ca-file FILE"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("usage lacks %q", s)
		}
	}
	r = runDoctorCase(t, doctorCase{sim: sim, noProfile: true, args: []string{"now"}})
	wantDoctorCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, `agw-proxy: error: doctor: takes no arguments, got "now"`) {
		t.Errorf("stderr: %s", r.stderr)
	}
}

// TestDoctorScripts runs testdata/doctor/*.txtar, where agw-proxy runs as a
// process of its own, so the standard library reads HTTPS_PROXY and
// NO_PROXY from a real environment. Each script gets a running emulator
// ($GATEWAY_URL, $TOKEN_URL, $CLIENT_ID, $SCOPE, and the secrets in
// AGW_PROXY_CLIENT_SECRET and AGW_PROXY_SECRET_ASANA), the emulator's Gateway
// behind TLS as https://gateway.example.com/mcp reachable only through the
// CONNECT proxy at $PROXY_URL ($PROXY_HOSTPORT; it logs each CONNECT to
// $WORK/proxy.log), $WORK/ca.pem, the CA of that TLS server, and
// $CLOSED_HOSTPORT, where nothing listens.
func TestDoctorScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/doctor",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("HOME", filepath.Join(e.WorkDir, "home"))
			e.Setenv("XDG_CONFIG_HOME", filepath.Join(e.WorkDir, "config"))
			for _, k := range []string{"AGW_PROXY_CONFIG", "AGW_PROXY_PROFILE", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"} {
				e.Setenv(k, "")
			}
			sim, err := gatewaysim.Start(gatewaysim.Options{})
			if err != nil {
				return err
			}
			e.Defer(sim.Close)
			front, caFile, err := tlsFront(sim.GatewayURL)
			if err != nil {
				return err
			}
			e.Defer(front.Close)
			defer os.Remove(caFile)
			ca, err := os.ReadFile(caFile)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(e.WorkDir, "ca.pem"), ca, 0o600); err != nil {
				return err
			}
			proxyURL, stop, err := connectProxy(front.Listener.Addr().String(), filepath.Join(e.WorkDir, "proxy.log"))
			if err != nil {
				return err
			}
			e.Defer(stop)
			e.Setenv("GATEWAY_URL", sim.GatewayURL)
			e.Setenv("TOKEN_URL", sim.TokenURL)
			e.Setenv("CLIENT_ID", sim.ClientID)
			e.Setenv("SCOPE", sim.Scope)
			e.Setenv("PROXY_URL", proxyURL)
			e.Setenv("PROXY_HOSTPORT", strings.TrimPrefix(proxyURL, "http://"))
			closed, free, err := closedHostPort()
			if err != nil {
				return err
			}
			e.Defer(free)
			e.Setenv("CLOSED_HOSTPORT", closed)
			e.Setenv("AGW_PROXY_CLIENT_SECRET", sim.ClientSecret)
			e.Setenv("AGW_PROXY_SECRET_ASANA", doctorAsanaToken)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode": cmdExitCode,
		},
	})
}

// connectProxy is a minimal HTTPS proxy: it answers every CONNECT by
// tunnelling to target, whatever host was asked for, and appends
// "CONNECT host:port" to logFile.
func connectProxy(target, logFile string) (proxyURL string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	var mu sync.Mutex
	serve := func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		mu.Lock()
		f, err := os.OpenFile(logFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err == nil {
			fmt.Fprintf(f, "%s %s\n", req.Method, req.Host)
			f.Close()
		}
		mu.Unlock()
		if req.Method != http.MethodConnect {
			fmt.Fprint(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
			return
		}
		up, err := net.Dial("tcp", target)
		if err != nil {
			fmt.Fprint(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
			return
		}
		defer up.Close()
		fmt.Fprint(c, "HTTP/1.1 200 Connection Established\r\n\r\n")
		done := make(chan struct{}, 2)
		go func() { _, _ = io.Copy(up, br); done <- struct{}{} }()
		go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
		<-done
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return "http://" + l.Addr().String(), func() { l.Close() }, nil
}

// A header rule: doctor says which calls carry the header and which of
// those tools declare it, and that it did not check the Gateway forwards
// it, since only a tool call would show that: it calls no tool.
func TestDoctorHeaderRule(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{Search: true, Targets: []gatewaysim.Target{
		{Name: gatewaysim.DefaultTargetName, Spec: configs.AsanaOpenAPI, APIKey: gatewaysim.DefaultAPIKey,
			Metadata: &gatewaysim.MetadataConfiguration{AllowedRequestHeaders: []string{"X-Asana-Token"}}},
		{Name: "OtherTarget", Spec: configs.AsanaOpenAPI},
	}})
	r := runDoctorCase(t, doctorCase{sim: sim, vars: secretsInEnv(sim), noProfile: true, args: []string{
		"--gateway-url", sim.GatewayURL, "--token-url", sim.TokenURL, "--client-id", sim.ClientID, "--scope", sim.Scope,
		"--inject", "X-Asana-Token=asana", "--inject-tools", "*", "--inject-via", "header",
	}})
	wantDoctorCode(t, r, exitOK)
	wantDoctorLines(t, r,
		`✓ inject rule 1 \(X-Asana-Token=asana via header, tools "\*"\): sends header X-Asana-Token on the calls of 2 tools \(AgentCoreGwyAPIGatewayTarget___asanaInvoke, OtherTarget___asanaInvoke\); all declare it as an argument, hidden from the model`,
		`    note: not checked whether the Gateway forwards X-Asana-Token to the target: only a tool call would show it, and doctor calls no tools; the targets' metadataConfiguration.allowedRequestHeaders must list it \(GetGatewayTarget shows it\)`,
	)
	if n := sim.Counts().ToolCalls; n != 0 {
		t.Errorf("doctor made %d tool calls, want none", n)
	}
}
