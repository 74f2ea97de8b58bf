package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// What a tools/call result says of the token it carried: the Gateway's
// debug message of a target's 401 (content and _meta.debug), the generic
// error, or something else.
func TestRejectionOf(t *testing.T) {
	for _, tc := range []struct {
		res  string
		want rejection
	}{
		{`{"content":[{"type":"text","text":"ok"}]}`, notRejected},
		{`{"isError":true,"content":[{"type":"text","text":"target responded with HTTP 401: {\"errors\":[{\"message\":\"Not Authorized\"}]}"}],"_meta":{"debug":{"type":"text","text":"target responded with HTTP 401: ..."}}}`, rejected},
		{`{"isError":true,"content":[{"type":"text","text":"x"}],"_meta":{"debug":{"type":"text","text":"Received status code 401 Unauthorized from target"}}}`, rejected},
		{`{"isError":true,"content":[{"type":"text","text":"An internal error occurred. Please retry later."}]}`, maybeRejected},
		{`{"isError":true,"content":[{"type":"text","text":"target responded with HTTP 500: boom"}]}`, notRejected},
		{`{"isError":true,"content":[{"type":"text","text":"order 4012 not found"}]}`, notRejected},
		{`{"content":[{"type":"text","text":"HTTP 401 is in the data, not an error"}]}`, notRejected},
		{`not json`, notRejected},
		// The target's own words after the Gateway's status, or the
		// target's own words alone, do not make a 401.
		{`{"isError":true,"content":[{"type":"text","text":"target responded with HTTP 500: {\"error\":\"upstream status: 401\"}"}]}`, notRejected},
		{`{"isError":true,"content":[{"type":"text","text":"fetch failed: HTTP 401 from https://example.com/private"}]}`, notRejected},
		{`{"isError":true,"content":[{"type":"text","text":"401 Unauthorized"}]}`, notRejected},
		{`{"isError":true,"content":[{"type":"text","text":"x"}],"_meta":{"debug":{"type":"text","text":"target responded with HTTP 502: status 401"}}}`, notRejected},
		{`{"isError":true,"content":[{"type":"text","text":"Target Responded With HTTP 401"}]}`, rejected},
		// isError in another form is read as encoding/json reads it.
		{`{"IsError":true,"content":[{"type":"text","text":"target responded with HTTP 401: no"}]}`, rejected},
		{`{"isError":false,"content":[{"type":"text","text":"target responded with HTTP 401: no"}]}`, notRejected},
	} {
		if got := rejectionOf([]byte(tc.res)); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.res, got, tc.want)
		}
	}
}

// refresher counts the refreshes it is asked for.
type refresher struct {
	mu    sync.Mutex
	count int
}

func (r *refresher) Secret(context.Context, string) (tokenstore.Secret, error) {
	return "access-token-0000", nil
}

func (r *refresher) RefreshSecret(context.Context, string, tokenstore.Secret) (tokenstore.Secret, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.count++
	return tokenstore.Secret(fmt.Sprintf("access-token-%04d", r.count)), nil
}

func (r *refresher) refreshes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count
}

// TestGenericErrorRefreshesAtMostOnceAMinute: a target that fails every
// call with the generic error gets one refresh of the token a minute, per
// secret; a 401 refreshes every time, and asks for the retry.
func TestGenericErrorRefreshesAtMostOnceAMinute(t *testing.T) {
	now := time.Now()
	defer func(f func() time.Time) { timeNow = f }(timeNow)
	timeNow = func() time.Time { return now }

	src := &refresher{}
	rule := Rule{Tools: []string{"*"}, Argument: "token", Secret: "asana", Source: SourceOAuth}
	other := Rule{Tools: []string{"*"}, Argument: "jira", Secret: "jira", Source: SourceOAuth}
	p, err := New(Options{GatewayURL: "http://127.0.0.1:1/mcp", Rules: []Rule{rule, other}, Secrets: src})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testwait.Context(t)
	generic := json.RawMessage(`{"isError":true,"content":[{"type":"text","text":"An internal error occurred. Please retry later."}]}`)
	unauthorized := json.RawMessage(`{"isError":true,"content":[{"type":"text","text":"target responded with HTTP 401: expired"}]}`)
	sent := func(r *Rule) []ruleValue {
		return []ruleValue{{rule: r, value: "access-token-0000", raw: "access-token-0000"}}
	}
	step := func(res json.RawMessage, r *Rule, wantRetry bool, want int) {
		t.Helper()
		retry, failed, err := p.refreshRejected(ctx, "t___get", sent(r), res)
		if err != nil || failed != nil {
			t.Fatalf("refreshRejected: %v %s", err, failed)
		}
		if retry != wantRetry || src.refreshes() != want {
			t.Fatalf("retry %v, %d refreshes; want %v, %d", retry, src.refreshes(), wantRetry, want)
		}
	}
	step(generic, &rule, false, 1)
	step(generic, &rule, false, 1)
	step(generic, &other, false, 2) // another secret has its own minute
	now = now.Add(maybeRefreshEvery - time.Second)
	step(generic, &rule, false, 2)
	step(unauthorized, &rule, true, 3)
	now = now.Add(time.Second)
	step(generic, &rule, false, 4)
}
