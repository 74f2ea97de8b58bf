package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/awsiam"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/internal/sigv4test"
	"github.com/agw-proxy/agw-proxy/internal/testexe"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// aws_iam end to end through the binary: an MCP server behind a front that
// verifies SigV4 on every request (the stand-in for an AWS_IAM Gateway;
// internal/sigv4test), and AWS credentials from a test ~/.aws.

const (
	iamRegion = "us-west-2"
	iamKeyID  = "AKIDE2ETESTKEY000001"
	iamSecret = "e2e-secret-access-key/0123456789abcdefXYZ"
)

// iamGateway starts the verifying front over a go-sdk MCP server with one
// tool, whoami, and returns its /mcp URL.
func iamGateway(t *testing.T, keys ...sigv4test.Key) (*sigv4test.Front, string) {
	t.Helper()
	server := mcp.NewServer(&mcp.Implementation{Name: "iam-gateway", Version: "1"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "whoami", Description: "echo"}, func(ctx context.Context, req *mcp.CallToolRequest, in struct {
		Text string `json:"text"`
	}) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "hello " + in.Text}}}, nil, nil
	})
	front := sigv4test.New(iamRegion, awsiam.Service, mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil), keys...)
	srv := httptest.NewServer(front)
	t.Cleanup(srv.Close)
	return front, srv.URL + "/mcp"
}

// iamHome writes ~/.aws/config (and credentials) in a temporary home and
// returns the variables that make a child read them and nothing of the
// developer's: every AWS_* of this process is dropped (iamServeCmd).
func iamHome(t *testing.T, config, credentials string) []string {
	t.Helper()
	home := t.TempDir()
	dir := filepath.Join(home, ".aws")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"config": config, "credentials": credentials} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return []string{"HOME=" + home, "AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"), "AWS_EC2_METADATA_DISABLED=true"}
}

func iamServeCmd(t *testing.T, gatewayURL string, vars []string, extra ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	args := append([]string{"serve", "--profile", "iam-e2e", "--gateway-url", gatewayURL,
		"--auth-type", "aws_iam", "--region", iamRegion, "--log-level", "debug"}, extra...)
	cmd := exec.Command(e2eBinary(t), args...)
	cfg := t.TempDir()
	var env []string
	for _, kv := range testChildEnv(t, append(vars, "AGW_PROXY_CONFIG=", "AGW_PROXY_PROFILE=", "XDG_CONFIG_HOME="+cfg)...) {
		if strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "AWS_CONFIG_FILE=") && !strings.HasPrefix(kv, "AWS_SHARED_CREDENTIALS_FILE=") && !strings.HasPrefix(kv, "AWS_EC2_METADATA_DISABLED=") {
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = env
	var stderr syncBuffer
	cmd.Stderr = &stderr
	return cmd, &stderr
}

func iamCall(t *testing.T, cs *mcp.ClientSession) (string, bool) {
	t.Helper()
	return e2eCall(t, cs, "whoami", map[string]any{"text": "iam"})
}

// Static keys of a profile: listed and called, every request signed (the
// go-sdk's initialize, GET and DELETE, and the proxy's own POSTs), and the
// secret key nowhere in what the client or the log sees.
func TestAWSIAMEndToEndStaticKeys(t *testing.T) {
	front, gw := iamGateway(t, sigv4test.Key{ID: iamKeyID, Secret: iamSecret})
	vars := iamHome(t, "[profile dev]\nregion = us-west-2\n",
		fmt.Sprintf("[dev]\naws_access_key_id = %s\naws_secret_access_key = %s\n", iamKeyID, iamSecret))
	cmd, stderr := iamServeCmd(t, gw, vars, "--aws-profile", "dev", "--protocol", "2025-11-25")
	cs := e2eConnect(t, cmd)
	ctx := testwait.Context(t)
	res, err := cs.ListTools(ctx, nil)
	if err != nil || len(res.Tools) != 1 || res.Tools[0].Name != "whoami" {
		t.Fatalf("tools/list: %v %+v", err, res)
	}
	out, isErr := iamCall(t, cs)
	if isErr || out != "hello iam" {
		t.Fatalf("call: %q (isError %v)", out, isErr)
	}
	cs.Close()
	methods := map[string]bool{}
	for _, s := range front.Seen() {
		methods[s.Method] = true
		if s.Err != "" {
			t.Errorf("%s refused: %s", s.Method, s.Err)
		}
	}
	if !methods["POST"] {
		t.Errorf("methods seen %v, want POSTs", methods)
	}
	b, _ := json.Marshal(res)
	for what, text := range map[string]string{"tools/list": string(b), "call": out, "log": stderr.String()} {
		if err := leakcheck.Lines(text, iamSecret); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
}

// credential_process with expiring credentials: the process runs again
// before they expire, mid-session, and the calls go on signed with the
// new key.
func TestAWSIAMEndToEndCredentialProcessRefresh(t *testing.T) {
	front, gw := iamGateway(t)
	for n := 1; n <= 20; n++ {
		front.Allow(sigv4test.Key{ID: fmt.Sprintf("AKIDPROC%04d", n), Secret: fmt.Sprintf("proc-secret-%04d-abcdefghijklmnop", n), Token: fmt.Sprintf("proc-token-%04d-abcdefghijklmnop", n)})
	}
	dir := t.TempDir()
	runs, script := filepath.Join(dir, "runs"), filepath.Join(dir, "creds.sh")
	ttl := int((awsiam.ExpiryWindow + 3*time.Second) / time.Second)
	body := fmt.Sprintf(`#!/bin/sh
echo run >> %q
n=$(wc -l < %q | tr -d ' ')
exp=$(date -u -d "@$(( $(date +%%s) + %d ))" +%%Y-%%m-%%dT%%H:%%M:%%SZ)
printf '{"Version":1,"AccessKeyId":"AKIDPROC%%04d","SecretAccessKey":"proc-secret-%%04d-abcdefghijklmnop","SessionToken":"proc-token-%%04d-abcdefghijklmnop","Expiration":"%%s"}' $n $n $n $exp
`, runs, runs, ttl)
	if err := testexe.WriteFile(script, []byte(body)); err != nil {
		t.Fatal(err)
	}
	vars := iamHome(t, "[profile proc]\ncredential_process = "+script+"\n", "")
	cmd, stderr := iamServeCmd(t, gw, vars, "--aws-profile", "proc")
	cs := e2eConnect(t, cmd)
	count := func() int { b, _ := os.ReadFile(runs); return strings.Count(string(b), "run") }
	lastKey := func() string { s := front.Seen(); return s[len(s)-1].KeyID }

	if out, isErr := iamCall(t, cs); isErr || lastKey() != "AKIDPROC0001" {
		t.Fatalf("first call: %q isError %v, signed with %s", out, isErr, lastKey())
	}
	first := count()
	if first != 1 {
		t.Errorf("the credential process ran %d times for the first call, want 1", first)
	}
	testwait.Within(t, 15*time.Second, "credentials refreshed mid-session", func() {
		for count() < 2 {
			time.Sleep(250 * time.Millisecond)
			if _, isErr := e2eCallNoFatal(cs); isErr {
				return
			}
		}
	})
	if out, isErr := iamCall(t, cs); isErr || lastKey() != "AKIDPROC0002" {
		t.Errorf("after the refresh: %q isError %v, signed with %s, want key 2", out, isErr, lastKey())
	}
	for _, s := range front.Seen() {
		if s.Err != "" {
			t.Errorf("a request was refused: %+v", s)
		}
	}
	if err := leakcheck.Lines(stderr.String(), "proc-secret-0001-abcdefghijklmnop", "proc-token-0001-abcdefghijklmnop"); err != nil {
		t.Error(err)
	}
}

func e2eCallNoFatal(cs *mcp.ClientSession) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami", Arguments: map[string]any{"text": "x"}})
	if err != nil {
		return err.Error(), true
	}
	return "", res.IsError
}

// A wrong secret key, and an SSO profile whose sign-in has expired, are
// isError results that say what to do; no hang, and no secret in them.
func TestAWSIAMEndToEndActionableFailures(t *testing.T) {
	_, gw := iamGateway(t, sigv4test.Key{ID: iamKeyID, Secret: iamSecret})
	t.Run("wrong secret key", func(t *testing.T) {
		wrong := "wrong-secret-access-key-0123456789abcdef"
		vars := iamHome(t, "", fmt.Sprintf("[dev]\naws_access_key_id = %s\naws_secret_access_key = %s\n", iamKeyID, wrong))
		cmd, stderr := iamServeCmd(t, gw, vars, "--aws-profile", "dev")
		cs := e2eConnect(t, cmd)
		out, isErr := iamCall(t, cs)
		t.Logf("the client sees: %s", out)
		if !isErr || !strings.Contains(out, "InvalidSignatureException") || !strings.Contains(out, "secret access key") {
			t.Errorf("call: %q (isError %v), want an isError naming the refused signature", out, isErr)
		}
		if err := leakcheck.Lines(out+"\n"+stderr.String(), wrong); err != nil {
			t.Error(err)
		}
	})
	t.Run("expired SSO session", func(t *testing.T) {
		config := "[profile corp]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\n\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n"
		cmd, _ := iamServeCmd(t, gw, iamHome(t, config, ""), "--aws-profile", "corp")
		cs := e2eConnect(t, cmd)
		out, isErr := iamCall(t, cs)
		t.Logf("the client sees: %s", out)
		if !isErr || !strings.Contains(out, `run "aws sso login --profile corp"`) {
			t.Errorf("call: %q (isError %v), want an isError saying to run aws sso login --profile corp", out, isErr)
		}
	})
}

// iamVars is iamHome as the in-process commands' environment, with STS
// answered by a verifying front at AWS_ENDPOINT_URL_STS.
func iamVars(t *testing.T, config, credentials string) map[string]string {
	t.Helper()
	sts := sigv4test.New(iamRegion, "sts", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::111122223333:user/dev</Arn><UserId>AIDA</UserId><Account>111122223333</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`))
	}), sigv4test.Key{ID: iamKeyID, Secret: iamSecret})
	srv := httptest.NewServer(sts)
	t.Cleanup(srv.Close)
	vars := map[string]string{"AWS_ENDPOINT_URL_STS": srv.URL}
	for _, kv := range iamHome(t, config, credentials) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	return vars
}

// status and doctor show the AWS identity in use (account and ARN, from
// STS GetCallerIdentity) and never the keys; doctor's MCP check signs too.
func TestAWSIAMStatusAndDoctorShowTheIdentity(t *testing.T) {
	_, gw := iamGateway(t, sigv4test.Key{ID: iamKeyID, Secret: iamSecret})
	vars := iamVars(t, "", fmt.Sprintf("[dev]\naws_access_key_id = %s\naws_secret_access_key = %s\n", iamKeyID, iamSecret))
	args := []string{"--gateway-url", gw, "--auth-type", "aws_iam", "--aws-profile", "dev", "--region", iamRegion}

	out, errOut, code := runInProcess(t, vars, "", append([]string{"status"}, args...)...)
	if code != 0 || !strings.Contains(out, "AWS identity: arn:aws:iam::111122223333:user/dev (account 111122223333), from profile dev: static keys") {
		t.Errorf("status (exit %d):\n%s%s", code, out, errOut)
	}
	noLeak(t, []string{iamSecret}, out, errOut)

	out, errOut, code = runInProcess(t, vars, "", append([]string{"doctor", "--connect-timeout", "5s"}, args...)...)
	if code != 0 || !strings.Contains(out, "✓ aws credentials: profile dev: static keys; identity arn:aws:iam::111122223333:user/dev (account 111122223333)") ||
		!strings.Contains(out, "✓ mcp: protocol") {
		t.Errorf("doctor (exit %d):\n%s%s", code, out, errOut)
	}
	noLeak(t, []string{iamSecret}, out, errOut)
}

// An SSO profile without a sign-in: status says so and what to run (exit
// 4, a login fixes it), doctor too.
func TestAWSIAMStatusSSONotSignedIn(t *testing.T) {
	_, gw := iamGateway(t)
	config := "[profile corp]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\n\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n"
	vars := iamVars(t, config, "")
	args := []string{"--gateway-url", gw, "--auth-type", "aws_iam", "--aws-profile", "corp", "--region", iamRegion}
	out, errOut, code := runInProcess(t, vars, "", append([]string{"status"}, args...)...)
	if code != exitLoginNeeded || !strings.Contains(out, "AWS identity: no credentials") || !strings.Contains(errOut, `hint: run "aws sso login --profile corp"`) {
		t.Errorf("status (exit %d):\n%s%s", code, out, errOut)
	}
	out, errOut, code = runInProcess(t, vars, "", append([]string{"doctor", "--connect-timeout", "5s"}, args...)...)
	if code == 0 || !strings.Contains(out, `✗ aws credentials: AWS credentials of profile "corp" (SSO): not signed in`) || !strings.Contains(out, `hint: run "aws sso login --profile corp"`) {
		t.Errorf("doctor (exit %d):\n%s%s", code, out, errOut)
	}
}

// The signing region comes from the Gateway URL when it names one; else it
// is required, with an error naming the key and the flag.
func TestAWSIAMRegion(t *testing.T) {
	out, errOut, code := runInProcess(t, map[string]string{}, "", "status", "--offline", "--auth-type", "aws_iam",
		"--gateway-url", "https://gw-1.gateway.bedrock-agentcore.eu-central-1.amazonaws.com/mcp")
	if code != 0 || !strings.Contains(out, "region eu-central-1") {
		t.Errorf("region from the URL (exit %d):\n%s%s", code, out, errOut)
	}
	_, errOut, code = runInProcess(t, map[string]string{}, "", "status", "--offline", "--auth-type", "aws_iam", "--gateway-url", "http://127.0.0.1:9/mcp")
	if code == 0 || !strings.Contains(errOut, "needs the SigV4 signing region") || !strings.Contains(errOut, "--region R") {
		t.Errorf("no region (exit %d):\n%s", code, errOut)
	}
}
