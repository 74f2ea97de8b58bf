package proxy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/proxy"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// emptySecrets is a SecretSource that finds every secret stored, empty.
type emptySecrets struct{}

func (emptySecrets) Secret(context.Context, string) (tokenstore.Secret, error) { return "", nil }

func TestEmptySecretIsNotSent(t *testing.T) {
	gw := newRawGateway(t, list(toolDef(rawTool, "X-Asana-Token", "q")))
	h := start(t, setup{gatewayFor: gw.at, noAuth: true, secrets: func(proxy.SecretSource) proxy.SecretSource { return emptySecrets{} }})
	h.tools(t)
	res, err := h.callWithin(t, 10*time.Second, rawTool, map[string]any{"q": "x"})
	if err != nil {
		t.Fatalf("JSON-RPC error %v, want an isError result", err)
	}
	if !res.IsError || !strings.Contains(text(res), `"asana"`) {
		t.Errorf("isError=%v %q, want an isError result naming the secret \"asana\"", res.IsError, text(res))
	}
	if calls := gw.received(); len(calls) != 0 {
		t.Errorf("the call was sent with an empty secret (X-Asana-Token %q)", argsOf(t, calls[0])["X-Asana-Token"])
	}
}
