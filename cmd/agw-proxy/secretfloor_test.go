package main

import (
	"strings"
	"testing"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
)

// TestServeRefusesShortSecrets: serve refuses a secret shorter than
// tokenstore.MinSecretSize, which it could not scrub without mangling every
// result ("message" became "mess[redacted]ge" for a secret "a"): the call is
// an isError result that names the secret, never its value, and says how to
// fix it; nothing is forwarded with it, and nothing is scrubbed for it.
func TestServeRefusesShortSecrets(t *testing.T) {
	t.Run("injected", func(t *testing.T) {
		sim := e2eSim(t, gatewaysim.Options{})
		var stderr syncBuffer
		cmd := e2eServeCmd(t, sim, "a")
		cmd.Stderr = &stderr
		cs := e2eConnect(t, cmd)
		out, isErr := e2eCall(t, cs, gatewaysim.DefaultTargetName+"___asanaInvoke", map[string]any{"tool_name": "x"})
		if !isErr || !strings.Contains(out, `"asana" is shorter than 8 bytes, too short to scrub from results without mangling them`) ||
			!strings.Contains(out, "AGW_PROXY_SECRET_ASANA") || !strings.Contains(out, "agw-proxy login asana") {
			t.Errorf("result (isError %v): %q", isErr, out)
		}
		if strings.Contains(out+stderr.String(), "[redacted]") {
			t.Errorf("output was scrubbed of the short secret:\n%s\n%s", out, stderr.String())
		}
		if n := len(sim.Received()); n != 0 {
			t.Errorf("the call was forwarded (%d backend requests)", n)
		}
	})
	t.Run("client secret", func(t *testing.T) {
		sim := e2eSim(t, gatewaysim.Options{})
		var stderr syncBuffer
		cmd := e2eServeCmd(t, sim, e2eAsanaToken, "--connect-timeout", "5s")
		cmd.Env = append(cmd.Env, "AGW_PROXY_CLIENT_SECRET=short")
		cmd.Stderr = &stderr
		cs := e2eConnect(t, cmd)
		out, isErr := e2eCall(t, cs, gatewaysim.DefaultTargetName+"___asanaInvoke", map[string]any{"tool_name": "x"})
		if !isErr || !strings.Contains(out, `"client-secret" is shorter than 8 bytes`) || !strings.Contains(out, "AGW_PROXY_CLIENT_SECRET") {
			t.Errorf("result (isError %v): %q", isErr, out)
		}
		if strings.Contains(out+stderr.String(), "[redacted]") {
			t.Errorf("output was scrubbed of the short secret:\n%s\n%s", out, stderr.String())
		}
	})
}
