package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agw-proxy/agw-proxy/configs"
	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// init against the emulated AWS, through the binary: each command's
// profile is then served, listed and called with its inject rule. The
// children read a test ~/.aws (the emulator's test key) and nothing of
// the developer's: every AWS_* of this process is dropped.

const initSecretName = "agentcoregwyapigatewaytarget" // the secret derived from the target's name

// initWorld is a test home for init and serve: ~/.aws with the emulator's
// key, an agw-proxy config file, one test keychain file for every child.
type initWorld struct {
	sim      *gatewaysim.Sim
	config   string
	vars     []string
	keychain string
}

func newInitWorld(t *testing.T, sim *gatewaysim.Sim) *initWorld {
	t.Helper()
	vars := iamHome(t, "[default]\nregion = us-east-1\n[profile sim]\nregion = us-east-1\n",
		"[default]\naws_access_key_id = "+gatewaysim.TestAccessKeyID+"\naws_secret_access_key = "+gatewaysim.TestSecretAccessKey+
			"\n[sim]\naws_access_key_id = "+gatewaysim.TestAccessKeyID+"\naws_secret_access_key = "+gatewaysim.TestSecretAccessKey+"\n")
	dir := t.TempDir()
	return &initWorld{sim: sim, config: filepath.Join(dir, "config.yaml"), vars: vars, keychain: filepath.Join(dir, "keyring.json")}
}

// cmd is agw-proxy args with the world's environment and extra variables.
func (w *initWorld) cmd(t *testing.T, extra []string, args ...string) *exec.Cmd {
	t.Helper()
	c := exec.Command(e2eBinary(t), args...)
	vars := append(append([]string{}, w.vars...), "AWS_ENDPOINT_URL="+w.sim.AWSEndpointURL, "AGW_PROXY_CONFIG="+w.config,
		"AGW_PROXY_PROFILE=", envTestKeyringFile+"="+w.keychain, "XDG_CONFIG_HOME="+filepath.Dir(w.config))
	vars = append(vars, extra...)
	var env []string
	for _, kv := range testChildEnv(t, vars...) {
		if strings.HasPrefix(kv, "AWS_") && !slicesContains(vars, kv) {
			continue
		}
		env = append(env, kv)
	}
	c.Env = env
	return c
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// init runs agw-proxy init args and returns its exit code, stdout and stderr.
func (w *initWorld) init(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	c := w.cmd(t, nil, append([]string{"init"}, args...)...)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	code := 0
	if err := c.Run(); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	return code, stdout.String(), stderr.String()
}

// serveWorks serves profile name, lists its tools and calls the Asana
// target's tool, whose backend must get the injected token.
func (w *initWorld) serveWorks(t *testing.T, name string, extra ...string) {
	t.Helper()
	cmd := w.cmd(t, append([]string{"AGW_PROXY_SECRET_" + strings.ToUpper(initSecretName) + "=" + e2eAsanaToken}, extra...), "serve", "--profile", name)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	cs := e2eConnect(t, cmd)
	tool := gatewaysim.DefaultTargetName + "___asanaInvoke"
	res, err := cs.ListTools(t.Context(), nil)
	if err != nil {
		t.Fatalf("tools/list: %v\n%s", err, stderr.String())
	}
	found := false
	for _, tl := range res.Tools {
		found = found || tl.Name == tool
	}
	if !found {
		t.Fatalf("%s not listed", tool)
	}
	out, isErr := e2eCall(t, cs, tool, map[string]any{"tool_name": "list_workspaces"})
	if isErr {
		t.Fatalf("call: %s\n%s", out, stderr.String())
	}
	if got := e2eReceived(t, w.sim, gatewaysim.DefaultTargetName); got.Header.Get("X-Asana-Token") != "Bearer "+e2eAsanaToken {
		t.Error("the target did not get X-Asana-Token from the proposed inject rule")
	}
}

const existingConfig = `# my own config: comments stay
profiles:
  # the one I use every day
  mine:
    gateway_url: https://mine.example/mcp   # keep me
    auth:
      type: none
`

// --gateway into an existing file: the file's own text stays, byte for
// byte; the new profile has the target's rules; it is refused a second
// time without --force; serve then lists and calls with it.
func TestInitGatewayThenServe(t *testing.T) {
	w := newInitWorld(t, e2eSim(t, gatewaysim.Options{}))
	if err := os.WriteFile(w.config, []byte(existingConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := w.init(t, "--gateway", w.sim.GatewayID, "--profile", "made")
	if code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, stdout, stderr)
	}
	data, _ := os.ReadFile(w.config)
	text := string(data)
	if !strings.HasPrefix(text, existingConfig) {
		t.Errorf("the file's own text changed:\n%s", text)
	}
	for _, want := range []string{"  made:\n", "type: client_credentials", "client_id: " + w.sim.ClientID,
		"- argument: X-Asana-Token\n        secret: " + initSecretName + "\n        tools: [\"AgentCoreGwyAPIGatewayTarget___*\"]",
		"tools: [\"OtherTarget___*\"]"} {
		if !strings.Contains(text, want) {
			t.Errorf("the profile lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(stdout, "agw-proxy login --config "+w.config+" --profile made    # the app client's secret") ||
		!strings.Contains(stdout, "agw-proxy login "+initSecretName+" --config "+w.config+" --profile made") {
		t.Errorf("no login commands:\n%s", stdout)
	}

	code, _, stderr = w.init(t, "--gateway", w.sim.GatewayID, "--profile", "made")
	if again, _ := os.ReadFile(w.config); code != exitError || !strings.Contains(stderr, `profile "made" already exists`) || !bytes.Equal(again, data) {
		t.Errorf("a second init: exit %d, %s", code, stderr)
	}
	if code, _, stderr = w.init(t, "--gateway", w.sim.GatewayID, "--profile", "made", "--force"); code != 0 {
		t.Fatalf("--force: exit %d %s", code, stderr)
	}
	if again, _ := os.ReadFile(w.config); !bytes.Equal(again, data) {
		t.Errorf("--force did not give the same file:\n%s", again)
	}
	w.serveWorks(t, "made", "AGW_PROXY_CLIENT_SECRET="+w.sim.ClientSecret)
}

// --from-ssm with --store-client-secret: the secret goes to the keychain
// (serve then needs no other), and neither it nor a SecureString's value
// is printed.
func TestInitFromSSMStoresTheClientSecret(t *testing.T) {
	w := newInitWorld(t, e2eSim(t, gatewaysim.Options{}))
	code, stdout, stderr := w.init(t, "--from-ssm", gatewaysim.DefaultSSMPrefix, "--store-client-secret", "--aws-profile", "sim")
	if code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, stdout, stderr)
	}
	for what, text := range map[string]string{"stdout": stdout, "stderr": stderr} {
		if err := leakcheck.Lines(text, w.sim.ClientSecret, gatewaysim.DefaultAPIKey); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	if !strings.Contains(stderr, "SecureString parameters not read: api_key") {
		t.Errorf("stderr: %s", stderr)
	}
	data, _ := os.ReadFile(w.config)
	if !strings.Contains(string(data), "token_url: "+w.sim.TokenURL) || !strings.Contains(string(data), "scopes: ["+w.sim.Scope+"]") {
		t.Errorf("the profile lacks the SSM parameters:\n%s", data)
	}
	if strings.Contains(string(data), w.sim.ClientSecret) {
		t.Error("the client secret is in the config file")
	}
	kc, _ := os.ReadFile(w.keychain)
	if !strings.Contains(string(kc), w.sim.ClientSecret) {
		t.Fatalf("the client secret was not stored in the test keychain")
	}
	w.serveWorks(t, "default")
}

// --from-stack --print: the profile on stdout, written nowhere; served
// from a file made of it.
func TestInitFromStackPrints(t *testing.T) {
	w := newInitWorld(t, e2eSim(t, gatewaysim.Options{}))
	code, stdout, stderr := w.init(t, "--from-stack", gatewaysim.DefaultStackName, "--print", "--profile", "team")
	if code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(w.config); err == nil {
		t.Error("--print wrote the config file")
	}
	if !strings.HasPrefix(stdout, "profiles:\n  team:\n") || !strings.Contains(stdout, "client_id: "+w.sim.ClientID) {
		t.Errorf("stdout:\n%s", stdout)
	}
	os.WriteFile(w.config, []byte(stdout), 0o600)
	t.Logf("printed:\n%s", stdout)
	w.serveWorks(t, "team", "AGW_PROXY_CLIENT_SECRET="+w.sim.ClientSecret)
}

// A missing permission is an error naming the IAM action, and nothing is
// written.
func TestInitNamesTheMissingPermission(t *testing.T) {
	sim := e2eSim(t, gatewaysim.Options{})
	w := newInitWorld(t, sim)
	for _, tc := range []struct {
		args    []string
		allowed []string
		action  string
	}{
		{[]string{"--gateway", sim.GatewayID}, []string{"bedrock-agentcore:GetGateway"}, "bedrock-agentcore:ListGatewayTargets"},
		{[]string{"--gateway", sim.GatewayID}, []string{"bedrock-agentcore:GetGateway", "bedrock-agentcore:ListGatewayTargets"}, "bedrock-agentcore:GetGatewayTarget"},
		{[]string{"--from-stack", gatewaysim.DefaultStackName}, []string{"bedrock-agentcore:*"}, "cloudformation:DescribeStacks"},
		{[]string{"--from-ssm", gatewaysim.DefaultSSMPrefix}, []string{"bedrock-agentcore:*"}, "ssm:GetParametersByPath"},
		{[]string{"--from-ssm", gatewaysim.DefaultSSMPrefix, "--store-client-secret"}, []string{"bedrock-agentcore:*", "ssm:*"}, "cognito-idp:DescribeUserPoolClient"},
	} {
		sim.SetAWSActions(gatewaysim.TestAccessKeyID, tc.allowed)
		code, _, stderr := w.init(t, tc.args...)
		if code != exitError || !strings.Contains(stderr, "needs the IAM permission "+tc.action) || !strings.Contains(stderr, "hint: grant the AWS identity "+tc.action) {
			t.Errorf("%v with %v: exit %d\n%s", tc.args, tc.allowed, code, stderr)
		}
	}
}

// An AWS_IAM Gateway gets auth type aws_iam (with the region its URL does
// not name, and the AWS profile init used), and serve signs with it.
func TestInitAWSIAMGatewayThenServe(t *testing.T) {
	w := newInitWorld(t, e2eSim(t, gatewaysim.Options{AuthorizerType: gatewaysim.AuthorizerAWSIAM}))
	code, stdout, stderr := w.init(t, "--gateway", w.sim.GatewayID, "--aws-profile", "sim", "--profile", "iam")
	if code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, stdout, stderr)
	}
	data, _ := os.ReadFile(w.config)
	for _, want := range []string{"type: aws_iam", "aws_profile: sim", "region: us-east-1"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the profile lacks %q:\n%s", want, data)
		}
	}
	if strings.Contains(stdout, "agw-proxy login --profile iam ") {
		t.Errorf("an aws_iam profile needs no login of its own:\n%s", stdout)
	}
	w.serveWorks(t, "iam")
}

// An allowedAudience Gateway gets authorization_code with the ID token,
// the web client of the audience and its loopback callback.
func TestInitAllowedAudienceGetsTheIDToken(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{Targets: []gatewaysim.Target{{Name: gatewaysim.DefaultTargetName, Spec: configs.AsanaOpenAPI}},
		AllowedAudience: []string{"placeholder"}})
	w := newInitWorld(t, sim)
	code, stdout, stderr := w.init(t, "--gateway", sim.GatewayID, "--print")
	if code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"type: authorization_code", "token: id", "scopes: [openid]", "redirect_url: " + sim.RedirectURL} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the profile lacks %q:\n%s", want, stdout)
		}
	}
	_ = tokenstore.ClientSecretName
}

// A Gateway-held OAuth (3LO) target is noted on stderr and gets a
// read-only tool of its own in consent_tools (a GET, a lookup first);
// the profile printed is one serve then uses.
func TestInitNotesThe3LOTargetAndItsConsentTool(t *testing.T) {
	const spec = `{"openapi":"3.0.0","info":{"title":"Calendar","version":"1"},"paths":{
"/events":{"post":{"operationId":"createEvent","responses":{"200":{"description":"ok"}}},
           "get":{"operationId":"searchEvents","responses":{"200":{"description":"ok"}}}},
"/me":{"get":{"operationId":"getMe","responses":{"200":{"description":"ok"}}}}}}`
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{Targets: []gatewaysim.Target{
		{Name: gatewaysim.DefaultTargetName, Spec: configs.AsanaOpenAPI, APIKey: gatewaysim.DefaultAPIKey},
		{Name: "Calendar", Spec: []byte(spec), OAuth: &gatewaysim.OAuthCredentialProvider{}},
	}})
	w := newInitWorld(t, sim)
	code, stdout, stderr := w.init(t, "--gateway", sim.GatewayID, "--print")
	if code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "agw-proxy: note: target Calendar calls its API with each user's own OAuth token, held by the Gateway (3LO)") {
		t.Errorf("no 3LO note:\n%s", stderr)
	}
	if strings.Contains(stderr, "target "+gatewaysim.DefaultTargetName+" calls its API") {
		t.Errorf("the API-key target is noted as 3LO:\n%s", stderr)
	}
	if !strings.Contains(stdout, "\n    consent_tools: [Calendar___getMe]\n") {
		t.Errorf("consent_tools is not the target's lookup:\n%s", stdout)
	}
	os.WriteFile(w.config, []byte(stdout), 0o600)
	w.serveWorks(t, "default", "AGW_PROXY_CLIENT_SECRET="+sim.ClientSecret)
}

// A Gateway URL outside AWS's names (a VPC endpoint's, a stand-in's, the
// emulator's loopback one) names no Gateway id: init finds it among the
// region's Gateways (ListGateways, then GetGateway of each). One it does
// not find is an error saying so; without ListGateways, the error names it.
func TestInitFindsAGatewayByItsURL(t *testing.T) {
	sim := e2eSim(t, gatewaysim.Options{})
	w := newInitWorld(t, sim)
	code, stdout, stderr := w.init(t, "--gateway", sim.GatewayURL, "--region", "us-east-1", "--print")
	if code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "gateway_url: "+sim.GatewayURL+"\n") || !strings.Contains(stdout, sim.GatewayID) {
		t.Errorf("not the Gateway of the URL:\n%s", stdout)
	}
	other := strings.Replace(sim.GatewayURL, "/mcp", "/other/mcp", 1)
	code, _, stderr = w.init(t, "--gateway", other, "--region", "us-east-1", "--print")
	if code != exitError || !strings.Contains(stderr, "no Gateway of region us-east-1 has the URL "+other+" (1 listed): give its id instead") {
		t.Errorf("an unknown URL: exit %d\n%s", code, stderr)
	}
	sim.SetAWSActions(gatewaysim.TestAccessKeyID, []string{"bedrock-agentcore:GetGateway"})
	code, _, stderr = w.init(t, "--gateway", sim.GatewayURL, "--region", "us-east-1", "--print")
	if code != exitError || !strings.Contains(stderr, "needs the IAM permission bedrock-agentcore:ListGateways") {
		t.Errorf("without ListGateways: exit %d\n%s", code, stderr)
	}
}
