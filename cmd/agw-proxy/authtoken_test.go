package main

import (
	"strings"
	"testing"

	"github.com/agw-proxy/agw-proxy/internal/profile"
)

// auth.token: a value is checked (with a did-you-mean), applies to
// authorization_code only, and shows in status.
func TestAuthTokenSetting(t *testing.T) {
	base := []string{"status", "--offline", "--gateway-url", "https://gw.gateway.bedrock-agentcore.us-east-1.amazonaws.com/mcp",
		"--token-url", "https://d.auth.us-east-1.amazoncognito.com/oauth2/token", "--client-id", "client-1"}
	_, errOut, code := runInProcess(t, map[string]string{}, "", append(base, "--auth-type", "authorization_code", "--auth-token", "idd")...)
	if code == 0 || !strings.Contains(errOut, `unknown token "idd"`) || !strings.Contains(errOut, `did you mean "id"?`) {
		t.Errorf("a misspelt value (exit %d):\n%s", code, errOut)
	}
	_, errOut, code = runInProcess(t, map[string]string{}, "", append(base, "--auth-type", "client_credentials", "--auth-token", "id")...)
	if code == 0 || !strings.Contains(errOut, "auth.token applies to auth type authorization_code") {
		t.Errorf("id with client_credentials (exit %d):\n%s", code, errOut)
	}
	out, errOut, _ := runInProcess(t, map[string]string{}, "", append(base, "--auth-type", "authorization_code", "--auth-token", "id",
		"--authorize-url", "https://d.auth.us-east-1.amazoncognito.com/oauth2/authorize", "--redirect-url", "http://localhost:8501/")...)
	if !strings.Contains(out, "client ID client-1, sends the ID token") {
		t.Errorf("status does not say the ID token is sent:\n%s%s", out, errOut)
	}
}

// Doctor's explanation of a refused token names the audience mismatch
// each way round.
func TestAudienceHint(t *testing.T) {
	p := &profile.Profile{Auth: profile.Auth{Type: profile.AuthAuthorizationCode, ClientID: "client-1"}}
	if h := audienceHint(p); !strings.Contains(h, "auth.token: id") || !strings.Contains(h, "openid") {
		t.Errorf("access token: %s", h)
	}
	p.Auth.Token = profile.TokenID
	if h := audienceHint(p); !strings.Contains(h, "allowedAudience must list it") || !strings.Contains(h, "client-1") {
		t.Errorf("ID token: %s", h)
	}
}
