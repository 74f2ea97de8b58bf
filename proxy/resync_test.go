package proxy_test

import (
	"strings"
	"testing"
	"time"
)

// A re-sync that finds the tools unchanged tells the client nothing; one
// that finds a change tells it once, and the calls after it are decided by
// the new list.

// listChangedSent counts the tools/list_changed notifications the proxy
// wrote to the client.
func (h *harness) listChangedSent() int {
	return strings.Count(h.out.String(), `"notifications/tools/list_changed"`)
}

func TestListChangedReachesTheClientOnlyOnAChange(t *testing.T) {
	tools := list(toolDef(rawTool, "X-Asana-Token", "q"), toolDef(rawOther, "q"))
	gw := newRawGateway(t, tools)
	h := start(t, setup{gatewayFor: gw.at, noAuth: true})
	h.tools(t) // the client holds a list: a change would be worth telling

	// The Gateway announces a change but lists the same tools. Syncs run
	// one after another, so once the third tools/list has arrived the
	// second sync is over, notification and all.
	announce(t, gw)
	waitFor(t, 10*time.Second, "no re-sync after the Gateway's tools/list_changed", func() bool { return gw.listCount() >= 2 })
	announce(t, gw)
	waitFor(t, 10*time.Second, "no second re-sync", func() bool { return gw.listCount() >= 3 })
	if n := h.listChangedSent(); n != 0 {
		t.Errorf("%d tools/list_changed sent to the client for re-syncs that changed nothing, want 0", n)
	}

	gw.setTools(list(toolDef(rawTool, "X-Asana-Token", "q"), toolDef(rawOther, "q"), toolDef(outsideTool, "q")))
	announce(t, gw)
	select {
	case <-h.changed:
	case <-time.After(10 * time.Second):
		t.Fatal("a re-sync that found a new tool did not tell the client")
	}
}

func TestCallsFollowTheToolListAfterAResync(t *testing.T) {
	gw := newRawGateway(t, list(toolDef(rawTool, "X-Asana-Token", "q"), toolDef(rawOther, "q")))
	h := start(t, setup{gatewayFor: gw.at, noAuth: true})
	h.tools(t)
	h.call(t, rawTool, map[string]any{"q": "before"})
	if got := argsOf(t, lastCall(t, gw, rawTool))["X-Asana-Token"]; got != "Bearer "+asanaToken {
		t.Fatal("before the change the tool did not get its secret")
	}
	h.call(t, rawOther, map[string]any{"q": "before"})
	noSecretIn(t, lastCall(t, gw, rawOther))

	// The Gateway moves the argument: rawTool no longer declares it,
	// rawOther now does. The client's list is the same (the argument is
	// stripped where declared), so it is told nothing; but from the
	// announcement on, a call that would carry the secret waits for the
	// new list, so the first call below is decided by it.
	gw.setTools(list(toolDef(rawTool, "q"), toolDef(rawOther, "X-Asana-Token", "q")))
	announce(t, gw)
	waitFor(t, 10*time.Second, "no re-sync after the Gateway's tools/list_changed", func() bool { return gw.listCount() >= 2 })
	h.call(t, rawTool, map[string]any{"q": "after"})
	c := lastCall(t, gw, rawTool)
	noSecretIn(t, c)
	if _, ok := argsOf(t, c)["X-Asana-Token"]; ok {
		t.Error("after the re-sync the tool still got the argument it no longer declares")
	}
	h.call(t, rawOther, map[string]any{"q": "after"})
	if got := argsOf(t, lastCall(t, gw, rawOther))["X-Asana-Token"]; got != "Bearer "+asanaToken {
		t.Error("after the re-sync the tool that now declares the argument did not get the secret")
	}
	if n := h.listChangedSent(); n != 0 {
		t.Errorf("%d tools/list_changed sent for a change the client cannot see, want 0", n)
	}
}
