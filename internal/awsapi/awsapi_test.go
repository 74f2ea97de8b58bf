package awsapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/agw-proxy/agw-proxy/configs"
	"github.com/agw-proxy/agw-proxy/internal/awsapi"
	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// env is an environment that reads nothing of the developer's: only vars.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// simClient is a Client of the emulator's AWS with its test key, reached
// through AWS_ENDPOINT_URL.
func simClient(t *testing.T, sim *gatewaysim.Sim) *awsapi.Client {
	t.Helper()
	home := t.TempDir()
	return &awsapi.Client{
		Credentials: credentials.NewStaticCredentialsProvider(gatewaysim.TestAccessKeyID, gatewaysim.TestSecretAccessKey, ""),
		Region:      "us-east-1",
		Getenv: env(map[string]string{"AWS_ENDPOINT_URL": sim.AWSEndpointURL, "HOME": home,
			"AWS_CONFIG_FILE": filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "credentials")}),
	}
}

func threeTargets() gatewaysim.Options {
	return gatewaysim.Options{Targets: []gatewaysim.Target{
		{Name: gatewaysim.DefaultTargetName, Spec: configs.AsanaOpenAPI, APIKey: gatewaysim.DefaultAPIKey},
		{Name: "AsanaOAuth", Spec: configs.AsanaOpenAPI, OAuth: &gatewaysim.OAuthCredentialProvider{}, S3URI: "s3://agwsim-schemas/asana/openapi spec.json"},
		{Name: "Headers", Spec: configs.AsanaOpenAPI, APIKey: "k2", APIKeyLocation: "HEADER", APIKeyName: "X-Api-Key",
			Metadata: &gatewaysim.MetadataConfiguration{AllowedRequestHeaders: []string{"X-Trace"}}},
	}}
}

// Every call, against the emulated AWS: what each answers, decoded.
func TestCallsAgainstTheEmulatedAWS(t *testing.T) {
	sim := gatewaysim.StartForTest(t, threeTargets())
	c := simClient(t, sim)
	ctx := testwait.Context(t)

	gw, err := c.GetGateway(ctx, sim.GatewayID)
	if err != nil {
		t.Fatal(err)
	}
	if gw.URL != sim.GatewayURL || gw.AuthorizerType != "CUSTOM_JWT" || gw.JWT == nil || gw.JWT.DiscoveryURL != sim.DiscoveryURL ||
		!slices.Contains(gw.JWT.AllowedClients, sim.ClientID) || !slices.Contains(gw.JWT.AllowedScopes, sim.Scope) || gw.Region() != "us-east-1" {
		t.Errorf("GetGateway: %+v %+v", gw, gw.JWT)
	}
	list, err := c.ListGateways(ctx)
	if err != nil || len(list) != 1 || list[0].ID != sim.GatewayID {
		t.Errorf("ListGateways: %v %+v", err, list)
	}
	targets, err := c.ListGatewayTargets(ctx, sim.GatewayID)
	if err != nil || len(targets) != 3 {
		t.Fatalf("ListGatewayTargets: %v %+v", err, targets)
	}
	byName := map[string]*awsapi.Target{}
	for _, ts := range targets {
		tg, err := c.GetGatewayTarget(ctx, sim.GatewayID, ts.ID)
		if err != nil {
			t.Fatal(err)
		}
		byName[tg.Name] = tg
	}
	if tg := byName[gatewaysim.DefaultTargetName]; tg == nil || tg.OpenAPIInline != string(configs.AsanaOpenAPI) || tg.Credentials[0].Type != "API_KEY" {
		t.Errorf("the API key target: %+v", tg)
	}
	oauth := byName["AsanaOAuth"]
	if oauth == nil || oauth.OpenAPIS3URI == "" || oauth.OpenAPIInline != "" || oauth.Credentials[0].Type != "OAUTH" || oauth.Credentials[0].OAuthGrantType != "AUTHORIZATION_CODE" {
		t.Fatalf("the 3LO target: %+v", oauth)
	}
	if tg := byName["Headers"]; tg == nil || !slices.Equal(tg.AllowedRequestHeaders, []string{"X-Trace"}) {
		t.Errorf("the propagating target: %+v", tg)
	}
	spec, err := c.GetObject(ctx, oauth.OpenAPIS3URI)
	if err != nil || string(spec) != string(configs.AsanaOpenAPI) {
		t.Errorf("GetObject: %v, %d bytes", err, len(spec))
	}

	params, err := c.GetParametersByPath(ctx, gatewaysim.DefaultSSMPrefix)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]awsapi.Parameter{}
	for _, p := range params {
		got[strings.TrimPrefix(p.Name, gatewaysim.DefaultSSMPrefix)] = p
	}
	if got["gateway_id"].Value != sim.GatewayID || got["machine_client_id"].Value != sim.ClientID || len(got) < 12 {
		t.Errorf("GetParametersByPath (more than a page of 10): %d: %+v", len(got), got)
	}
	if p := got["api_key"]; p.Type != "SecureString" || p.Value != "" {
		t.Errorf("a SecureString came back with a value of %d bytes", len(p.Value))
	}
	if p, ok, err := c.GetParameter(ctx, gatewaysim.DefaultSSMPrefix+"web_client_id"); err != nil || !ok || p.Value != sim.WebClientID {
		t.Errorf("GetParameter: %v %v %+v", err, ok, p)
	}
	if _, ok, err := c.GetParameter(ctx, "/nothing/here"); err != nil || ok {
		t.Errorf("GetParameter of nothing: %v %v", err, ok)
	}

	outs, err := c.StackOutputs(ctx, gatewaysim.DefaultStackName)
	if err != nil || outs["GatewayId"] != sim.GatewayID || outs["MachineClientId"] != sim.ClientID {
		t.Errorf("StackOutputs: %v %v", err, outs)
	}
	if _, err := c.StackOutputs(ctx, "no-such-stack"); !awsapi.IsNotFound(err) {
		t.Errorf("a missing stack: %v", err)
	}

	pool := "us-east-1_AgwSim01"
	mc, err := c.DescribeUserPoolClient(ctx, pool, sim.ClientID)
	if err != nil || string(mc.Secret) != sim.ClientSecret || !slices.Contains(mc.AllowedOAuthFlows, "client_credentials") {
		t.Fatalf("DescribeUserPoolClient: %v %+v", err, mc)
	}
	if s := fmt.Sprintf("%v %+v %s", mc, mc, mc.Secret); strings.Contains(s, sim.ClientSecret) {
		t.Error("the client secret prints")
	}
	wc, err := c.DescribeUserPoolClient(ctx, pool, sim.WebClientID)
	if err != nil || wc.Secret != "" || !slices.Contains(wc.AllowedOAuthFlows, "code") || len(wc.CallbackURLs) == 0 {
		t.Errorf("the web client: %v %+v", err, wc)
	}
}

// Without the permission, each call's error is AccessDenied naming the
// IAM action it needs.
func TestDeniedCallsNameTheAction(t *testing.T) {
	sim := gatewaysim.StartForTest(t, threeTargets())
	sim.SetAWSActions(gatewaysim.TestAccessKeyID, []string{})
	c := simClient(t, sim)
	ctx := testwait.Context(t)
	for action, call := range map[string]func() error{
		"bedrock-agentcore:GetGateway":         func() error { _, err := c.GetGateway(ctx, sim.GatewayID); return err },
		"bedrock-agentcore:ListGateways":       func() error { _, err := c.ListGateways(ctx); return err },
		"bedrock-agentcore:ListGatewayTargets": func() error { _, err := c.ListGatewayTargets(ctx, sim.GatewayID); return err },
		"bedrock-agentcore:GetGatewayTarget":   func() error { _, err := c.GetGatewayTarget(ctx, sim.GatewayID, "x"); return err },
		"ssm:GetParametersByPath":              func() error { _, err := c.GetParametersByPath(ctx, "/app/"); return err },
		"ssm:GetParameter":                     func() error { _, _, err := c.GetParameter(ctx, "/app/x"); return err },
		"cloudformation:DescribeStacks":        func() error { _, err := c.StackOutputs(ctx, gatewaysim.DefaultStackName); return err },
		"cognito-idp:DescribeUserPoolClient":   func() error { _, err := c.DescribeUserPoolClient(ctx, "us-east-1_AgwSim01", sim.ClientID); return err },
		"s3:GetObject":                         func() error { _, err := c.GetObject(ctx, "s3://agwsim-schemas/asana/openapi spec.json"); return err },
	} {
		err := call()
		var e *awsapi.Error
		if !errors.As(err, &e) || !e.Denied || e.Action != action || !strings.Contains(err.Error(), "needs the IAM permission "+action) {
			t.Errorf("%s: %v", action, err)
		}
	}
}

// A 403 without an AWS error code (a VPC endpoint policy, a proxy) names
// the action too; a refused signature says so instead.
func TestForbiddenWithoutACodeNamesTheAction(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "" {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"__type":"com.amazonaws#UnrecognizedClientException","message":"The security token included in the request is invalid."}`))
			return
		}
		w.WriteHeader(http.StatusForbidden)
	}))
	defer srv.Close()
	c := &awsapi.Client{Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""), Region: "eu-west-1",
		Getenv: env(map[string]string{"AWS_ENDPOINT_URL": srv.URL, "HOME": t.TempDir()})}
	ctx := testwait.Context(t)
	_, err := c.GetGateway(ctx, "gw")
	var e *awsapi.Error
	if !errors.As(err, &e) || !e.Denied || !strings.Contains(err.Error(), "bedrock-agentcore:GetGateway") {
		t.Errorf("a bare 403: %v", err)
	}
	_, err = c.GetParametersByPath(ctx, "/app/")
	if !errors.As(err, &e) || e.Denied || !e.Signature || e.Code != "UnrecognizedClientException" || !strings.Contains(err.Error(), "ssm:GetParametersByPath") {
		t.Errorf("a refused key: %v", err)
	}
}

// Each service's own variable, then AWS_ENDPOINT_URL, then the AWS
// profile's endpoint_url settings.
func TestEndpointOverrides(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	defer dead.Close()
	home := t.TempDir()
	config := filepath.Join(home, "config")
	os.WriteFile(config, []byte("[profile local]\nservices = sim\n[services sim]\ncloudformation =\n  endpoint_url = "+sim.AWSEndpointURL+"\n"), 0o600)
	c := &awsapi.Client{
		Credentials: credentials.NewStaticCredentialsProvider(gatewaysim.TestAccessKeyID, gatewaysim.TestSecretAccessKey, ""),
		Region:      "us-east-1", Profile: "local",
		Getenv: env(map[string]string{"AWS_ENDPOINT_URL_SSM": sim.AWSEndpointURL, "AWS_ENDPOINT_URL_STS": dead.URL,
			"HOME": home, "AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "credentials")}),
	}
	ctx := testwait.Context(t)
	if _, ok, err := c.GetParameter(ctx, gatewaysim.DefaultSSMPrefix+"gateway_id"); err != nil || !ok {
		t.Errorf("SSM through AWS_ENDPOINT_URL_SSM: %v", err)
	}
	if _, err := c.StackOutputs(ctx, gatewaysim.DefaultStackName); err != nil {
		t.Errorf("CloudFormation through the profile's services section: %v", err)
	}
	c.Getenv = env(map[string]string{"AWS_ENDPOINT_URL": dead.URL, "AWS_ENDPOINT_URL_SSM": sim.AWSEndpointURL, "HOME": home,
		"AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "credentials")})
	if _, err := c.GetGateway(ctx, sim.GatewayID); err == nil || !strings.Contains(err.Error(), "418") {
		t.Errorf("the control plane through AWS_ENDPOINT_URL: %v", err)
	}
}

// A call that gets no answer ends at the timeout; an answer over the
// bound is refused.
func TestTimeoutsAndBounds(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"items":[`))
		for range awsapi.MaxAnswer / 16 {
			w.Write([]byte(`{"name":"xxxxx"},`))
		}
		w.Write([]byte(`{}]}`))
	}))
	defer srv.Close()
	defer close(release)
	c := &awsapi.Client{Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""), Region: "eu-west-1",
		Getenv: env(map[string]string{"AWS_ENDPOINT_URL": srv.URL, "HOME": t.TempDir()}), Timeout: 300 * time.Millisecond}
	testwait.Within(t, 10*time.Second, "a call without an answer", func() {
		_, err := c.GetParametersByPath(context.Background(), "/app/")
		if err == nil || !strings.Contains(err.Error(), "no answer") || !strings.Contains(err.Error(), "ssm:GetParametersByPath") {
			t.Errorf("hung call: %v", err)
		}
	})
	if _, err := c.ListGateways(testwait.Context(t)); err == nil || !strings.Contains(err.Error(), "over") {
		t.Errorf("an answer over MaxAnswer: %v", err)
	}
}

// The control plane's lists are followed through nextToken to the end, and
// a token given twice ends the walk (a broken endpoint cannot loop it).
func TestListsFollowNextToken(t *testing.T) {
	var mu sync.Mutex
	var pages []string
	seen := func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(pages) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("nextToken")
		mu.Lock()
		pages = append(pages, r.URL.Path+"?"+tok)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/targets/") && tok == "":
			w.Write([]byte(`{"items":[{"targetId":"T1","name":"one"}],"nextToken":"p2"}`))
		case strings.HasSuffix(r.URL.Path, "/targets/") && tok == "p2":
			w.Write([]byte(`{"items":[{"targetId":"T2","name":"two"}],"nextToken":"p3"}`))
		case strings.HasSuffix(r.URL.Path, "/targets/"):
			w.Write([]byte(`{"items":[{"targetId":"T3","name":"three"}]}`))
		default: // ListGateways: the same token again and again
			w.Write([]byte(`{"items":[{"gatewayId":"g"}],"nextToken":"same"}`))
		}
	}))
	defer srv.Close()
	c := &awsapi.Client{Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""), Region: "eu-west-1",
		Getenv: env(map[string]string{"AWS_ENDPOINT_URL": srv.URL, "HOME": t.TempDir()})}
	ctx := testwait.Context(t)
	targets, err := c.ListGatewayTargets(ctx, "gw")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range targets {
		names = append(names, x.Name)
	}
	if !slices.Equal(names, []string{"one", "two", "three"}) {
		t.Errorf("targets %q, want the three pages' (requests %q)", names, seen())
	}
	before := len(seen())
	gws, err := c.ListGateways(ctx)
	if n := len(seen()) - before; err != nil || len(gws) != 2 || n != 2 {
		t.Errorf("a repeated token: %d gateways in %d requests (%v), want 2 in 2", len(gws), n, err)
	}
}
