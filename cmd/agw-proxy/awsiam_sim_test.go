package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/configs"
	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/agw-proxy/agw-proxy/tokenstore/tokenstoretest"
)

// aws_iam against the emulator's AWS_IAM Gateway: the Gateway verifies
// SigV4 itself (service bedrock-agentcore, its region, the key's
// bedrock-agentcore:InvokeGateway permission), as the real one does. The
// verifying front of awsiam_e2e_test.go checks our signing; these check
// that what the Gateway of AWS accepts and refuses reaches the client as
// it should, with the injection of an Asana token on top.

// iamSim starts an AWS_IAM emulator in iamRegion with the Asana target.
func iamSim(t *testing.T) *gatewaysim.Sim {
	t.Helper()
	return gatewaysim.StartForTest(t, gatewaysim.Options{
		AuthorizerType: gatewaysim.AuthorizerAWSIAM,
		Region:         iamRegion,
		EchoToken:      true,
		Targets:        []gatewaysim.Target{{Name: gatewaysim.DefaultTargetName, Spec: configs.AsanaOpenAPI, APIKey: gatewaysim.DefaultAPIKey}},
	})
}

func iamSimKeys(id, secret string) string {
	return fmt.Sprintf("[dev]\naws_access_key_id = %s\naws_secret_access_key = %s\n", id, secret)
}

func TestAWSIAMGatewayOfTheEmulator(t *testing.T) {
	sim := iamSim(t)
	asana := gatewaysim.DefaultTargetName + "___asanaInvoke"
	inject := []string{"--aws-profile", "dev", "--inject", "X-Asana-Token=asana", "--inject-tools", gatewaysim.DefaultTargetName + "___*"}

	for _, protocol := range []string{"2026-07-28", "2025-11-25"} {
		t.Run("listed and called with "+protocol, func(t *testing.T) {
			vars := append(iamHome(t, "", iamSimKeys(gatewaysim.TestAccessKeyID, gatewaysim.TestSecretAccessKey)), "AGW_PROXY_SECRET_ASANA="+e2eAsanaToken)
			cmd, stderr := iamServeCmd(t, sim.GatewayURL, vars, append(inject, "--protocol", protocol)...)
			cs := e2eConnect(t, cmd)
			res, err := cs.ListTools(t.Context(), nil)
			if err != nil {
				t.Fatalf("tools/list: %v\n%s", err, stderr.String())
			}
			var found bool
			for _, tool := range res.Tools {
				if tool.Name == asana {
					found = true
					if s := fmt.Sprint(tool.InputSchema); strings.Contains(s, "X-Asana-Token") {
						t.Errorf("the schema still holds X-Asana-Token: %s", s)
					}
				}
			}
			if !found {
				t.Fatalf("%s not listed (%d tools)", asana, len(res.Tools))
			}
			out, isErr := e2eCall(t, cs, asana, map[string]any{"tool_name": "list_workspaces"})
			if isErr {
				t.Fatalf("call: %s\n%s", out, stderr.String())
			}
			if got := e2eReceived(t, sim, gatewaysim.DefaultTargetName); got.Header.Get("X-Asana-Token") != "Bearer "+e2eAsanaToken {
				t.Error("the target did not get the injected token")
			}
			echo, _ := e2eCall(t, cs, asana, map[string]any{"tool_name": "echo"})
			cs.Close()
			for what, text := range map[string]string{"call": out, "echo": echo, "log": stderr.String()} {
				if err := leakcheck.Lines(text, gatewaysim.TestSecretAccessKey, e2eAsanaToken); err != nil {
					t.Errorf("%s: %v", what, err)
				}
			}
		})
	}

	t.Run("a key the Gateway does not know is an actionable isError", func(t *testing.T) {
		const unknown = "wrong-secret-for-an-unknown-key-0123456789"
		vars := iamHome(t, "", iamSimKeys("AKIAUNKNOWNKEY000001", unknown))
		cmd, stderr := iamServeCmd(t, sim.GatewayURL, vars, "--aws-profile", "dev")
		cs := e2eConnect(t, cmd)
		out, isErr := e2eCall(t, cs, asana, map[string]any{"tool_name": "x"})
		t.Logf("the client sees: %s", out)
		if !isErr || !strings.Contains(out, "UnrecognizedClientException") {
			t.Errorf("call: %q (isError %v), want an isError naming the refusal", out, isErr)
		}
		if err := leakcheck.Lines(out+"\n"+stderr.String(), unknown); err != nil {
			t.Error(err)
		}
	})

	t.Run("a key without bedrock-agentcore:InvokeGateway is told so", func(t *testing.T) {
		key := sim.IssueTemporaryCredentials(time.Hour, []string{"bedrock-agentcore:GetGateway"})
		creds := iamSimKeys(key.AccessKeyID, key.SecretAccessKey) + "aws_session_token = " + key.SessionToken + "\n"
		cmd, stderr := iamServeCmd(t, sim.GatewayURL, iamHome(t, "", creds), "--aws-profile", "dev")
		cs := e2eConnect(t, cmd)
		out, isErr := e2eCall(t, cs, asana, map[string]any{"tool_name": "x"})
		t.Logf("the client sees: %s", out)
		if !isErr || !strings.Contains(out, "bedrock-agentcore:InvokeGateway") {
			t.Errorf("call: %q (isError %v), want an isError naming the missing permission", out, isErr)
		}
		if err := leakcheck.Lines(out+"\n"+stderr.String(), key.SecretAccessKey, key.SessionToken); err != nil {
			t.Error(err)
		}
	})
}

// A Gateway whose authorizer checks allowedAudience accepts Cognito's ID
// token (aud = the client ID) and refuses the access token (no aud): with
// auth.token id, doctor's MCP check (a real connect with the token the
// refresh grant gives) goes through; with the default it fails and says
// why.
func TestAllowedAudienceGatewayNeedsTheIDToken(t *testing.T) {
	const web = "audiencewebclient000000000a"
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{WebClientID: web, AllowedAudience: []string{web}})
	run := func(t *testing.T, extra ...string) doctorRun {
		fake := tokenstoretest.NewFake()
		if err := fake.Set(t.Context(), "default", tokenstore.RefreshTokenName, tokenstore.Secret(sim.IssueRefreshToken(""))); err != nil {
			t.Fatal(err)
		}
		return runDoctorCase(t, doctorCase{sim: sim, keyring: fake, noProfile: true, args: append([]string{
			"--connect-timeout", "5s", "--gateway-url", sim.GatewayURL, "--auth-type", "authorization_code",
			"--client-id", sim.WebClientID, "--discovery-url", sim.DiscoveryURL, "--redirect-url", sim.RedirectURL,
			"--scope", "openid", "--scope", sim.Scope}, extra...)})
	}
	t.Run("auth.token id", func(t *testing.T) {
		r := run(t, "--auth-token", "id")
		if r.code != 0 || !strings.Contains(r.stdout, "✓ mcp: protocol") {
			t.Errorf("doctor with the ID token (exit %d):\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("the access token", func(t *testing.T) {
		r := run(t)
		if r.code == 0 || !strings.Contains(r.stdout, "allowedAudience") {
			t.Errorf("doctor with the access token (exit %d), want a failure that names allowedAudience:\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
}

// The tool cache's identity of an aws_iam profile follows the AWS identity
// the chain would use, known without a network call: another AWS profile,
// $AWS_PROFILE, environment keys or region is another cached list.
func TestAWSIAMCacheIdentity(t *testing.T) {
	p := &profile.Profile{Name: "iam", GatewayURL: "https://gw.gateway.bedrock-agentcore.us-west-2.amazonaws.com/mcp"}
	p.Auth.Type = profile.AuthAWSIAM
	env := func(vars ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(vars); i += 2 {
				if vars[i] == k {
					return vars[i+1]
				}
			}
			return ""
		}
	}
	keys := map[string]string{}
	add := func(what string, p *profile.Profile, getenv func(string) string) {
		k := toolCacheKey(p, getenv)
		for other, ok := range keys {
			if ok == fmt.Sprint(k) {
				t.Errorf("%s has the cache key of %s", what, other)
			}
		}
		keys[what] = fmt.Sprint(k)
	}
	add("the default chain", p, env())
	add("$AWS_PROFILE dev", p, env("AWS_PROFILE", "dev"))
	add("$AWS_PROFILE prod", p, env("AWS_PROFILE", "prod"))
	add("environment keys", p, env("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE000000001"))
	named := *p
	named.Auth.AWSProfile = "ops"
	add("auth.aws_profile ops", &named, env("AWS_PROFILE", "dev"))
	east := *p
	east.GatewayURL = "https://gw.gateway.bedrock-agentcore.us-east-1.amazonaws.com/mcp"
	east.Auth.Region = "eu-west-1"
	add("another region", &east, env())
	if k1, k2 := toolCacheKey(&named, env("AWS_PROFILE", "dev")), toolCacheKey(&named, env("AWS_PROFILE", "other")); fmt.Sprint(k1) != fmt.Sprint(k2) {
		t.Error("auth.aws_profile set: $AWS_PROFILE changed the key, but the chain does not use it")
	}
}
