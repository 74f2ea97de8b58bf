package proxy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// TestMissingGatewayLoginIsNotRetriedInALoop: with no client secret stored,
// the proxy says once that the Gateway needs a login (not that it is "not
// reachable"), and does not try again by itself every few seconds; it
// tries again when a request comes, so a login in another terminal heals
// the very next call.
func TestMissingGatewayLoginIsNotRetriedInALoop(t *testing.T) {
	h := start(t, setup{connect: 5 * time.Second, prepare: func(h *harness) {
		if err := h.gateway.Delete(context.Background(), "default", tokenstore.ClientSecretName); err != nil {
			t.Fatal(err)
		}
	}})
	reads := func() int { return h.gateway.Calls("get") }

	// The first connect attempt reads the keychain and finds nothing.
	deadline := time.Now().Add(5 * time.Second)
	for reads() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the proxy never read the client secret")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the attempt ends and is logged
	first := reads()
	// With a tight backoff (250 ms, doubling) this would be 4 more tries.
	time.Sleep(3 * time.Second)
	if n := reads(); n != first {
		t.Errorf("the client secret was read %d times more in 3 s without a request; want no retries", n-first)
	}
	logs := h.logs.String()
	const logged = `msg="gateway login needed"`
	if n := strings.Count(logs, logged); n != 1 {
		t.Errorf("\"gateway login needed\" logged %d times, want once:\n%s", n, logs)
	}
	if strings.Contains(logs, "not reachable") {
		t.Errorf("a missing login was logged as the Gateway not being reachable:\n%s", logs)
	}
	if !strings.Contains(logs, "run `agw-proxy login`") {
		t.Errorf("the log does not say what to run:\n%s", logs)
	}

	// A request answers at once with the login message, after one more try.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	began := time.Now()
	_, err := h.client.ListTools(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "needs a login") || !strings.Contains(err.Error(), "agw-proxy login") {
		t.Fatalf("tools/list with no client secret: %v; want the login message", err)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("tools/list took %s; want the login message at once", d)
	}
	if n := reads() - first; n != 1 {
		t.Errorf("tools/list read the client secret %d times, want once (one connect attempt)", n)
	}

	// A login in another terminal: the next call succeeds.
	h.gateway.Set(ctx, "default", tokenstore.ClientSecretName, tokenstore.Secret(h.sim.ClientSecret))
	if res := h.call(t, asanaTool, map[string]any{"tool_name": "after-login"}); res.IsError {
		t.Fatalf("the first call after the login failed: %s", text(res))
	}
}
