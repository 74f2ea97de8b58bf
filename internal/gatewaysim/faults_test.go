package gatewaysim

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const asanaTool = DefaultTargetName + "___asanaInvoke"

func TestFailNext(t *testing.T) {
	s := start(t, Options{})
	tok := machineToken(t, s)
	cs := connect(t, s, tok, nil)
	s.FailNext(2, 503)
	for i := range 2 {
		// Even a request without a token: the failure comes before the authorizer.
		if resp, _ := rpc(t, s, "", nil, listMsg); resp.StatusCode != 503 {
			t.Errorf("request %d: HTTP %d, want 503", i, resp.StatusCode)
		}
	}
	if resp, body := rpc(t, s, tok, nil, listMsg); resp.StatusCode != 200 {
		t.Errorf("after the failures: HTTP %d %s", resp.StatusCode, body)
	}
	s.FailNext(1, 429)
	if _, err := cs.CallTool(testCtx(t), &mcp.CallToolParams{Name: asanaTool, Arguments: map[string]any{"tool_name": "x"}}); err == nil {
		t.Error("call after FailNext(1, 429) succeeded")
	}
	if got := len(s.Received()); got != 0 {
		t.Errorf("failed call reached the backend %d times", got)
	}
}

func TestSetDelayCancelled(t *testing.T) {
	for _, opts := range []Options{{}, {Sessions: true}, {Sessions: true, Streaming: true}} {
		t.Run(fmt.Sprintf("sessions=%v,streaming=%v", opts.Sessions, opts.Streaming), func(t *testing.T) {
			testSetDelayCancelled(t, opts)
		})
	}
}

func testSetDelayCancelled(t *testing.T, opts Options) {
	s := start(t, opts)
	cs := connect(t, s, machineToken(t, s), nil)
	s.SetDelay(10 * time.Second)
	ctx, cancel := context.WithTimeout(testCtx(t), 200*time.Millisecond)
	defer cancel()
	startAt := time.Now()
	_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: asanaTool, Arguments: map[string]any{"tool_name": "x"}})
	if err == nil || time.Since(startAt) > 5*time.Second {
		t.Fatalf("slow call: err %v after %v, want a prompt timeout", err, time.Since(startAt))
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Counts().ToolCallsCancelled == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c := s.Counts(); c.ToolCallsCancelled != 1 || c.BackendRequests != 0 {
		t.Errorf("counts = %+v, want the call cancelled before the backend", c)
	}
	s.SetDelay(0)
	if _, err := cs.CallTool(testCtx(t), &mcp.CallToolParams{Name: asanaTool, Arguments: map[string]any{"tool_name": "x"}}); err != nil {
		t.Errorf("after SetDelay(0): %v", err)
	}
}

func TestResetNext(t *testing.T) {
	s := start(t, Options{})
	cs := connect(t, s, machineToken(t, s), nil)
	s.ResetNext(1)
	_, err := cs.CallTool(testCtx(t), &mcp.CallToolParams{Name: asanaTool, Arguments: map[string]any{"tool_name": "x"}})
	if err == nil {
		t.Fatal("reset call succeeded")
	}
	if n := len(s.Received()); n != 1 {
		t.Errorf("backend got %d requests, want 1 (the call happened before the reset)", n)
	}
	cs = connect(t, s, machineToken(t, s), nil)
	if _, err := cs.CallTool(testCtx(t), &mcp.CallToolParams{Name: asanaTool, Arguments: map[string]any{"tool_name": "x"}}); err != nil {
		t.Errorf("next call: %v", err)
	}
}

func TestResetConnections(t *testing.T) {
	s := start(t, Options{Sessions: true, Streaming: true})
	cs := connect(t, s, machineToken(t, s), nil)
	if _, err := cs.ListTools(testCtx(t), nil); err != nil {
		t.Fatal(err)
	}
	s.ResetConnections()
	done := make(chan error, 1)
	go func() { done <- cs.Wait() }()
	select {
	case <-done: // the standalone stream died and the client gave up (MaxRetries < 0)
	case <-time.After(10 * time.Second):
		t.Fatal("client session survived ResetConnections with retries disabled")
	}
}

func TestConcurrentCallsAndCounts(t *testing.T) {
	s := start(t, Options{EchoToken: true})
	cs := connect(t, s, machineToken(t, s), nil)
	ctx := testCtx(t)
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			want := fmt.Sprintf("Bearer tok-%d", i)
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: asanaTool,
				Arguments: map[string]any{"tool_name": "get_task", "task_gid": fmt.Sprint(i), "X-Asana-Token": want}})
			if err != nil {
				errs <- err
				return
			}
			if text := res.Content[0].(*mcp.TextContent).Text; !strings.Contains(text, want+`"`) {
				errs <- fmt.Errorf("call %d got %s", i, text)
			}
		})
	}
	// Hooks are safe while calls run.
	for range 20 {
		s.Counts()
		s.Received()
		s.SetDelay(0)
		s.FailNext(0, 0)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c := s.Counts(); c.ToolCalls != n || c.BackendRequests != n || len(s.Received()) != n {
		t.Errorf("counts = %+v, received %d; want %d calls", c, len(s.Received()), n)
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, opts := range []Options{{}, {Sessions: true, Streaming: true}} {
		s, err := Start(opts)
		if err != nil {
			t.Fatal(err)
		}
		tok := machineToken(t, s)
		transport := &mcp.StreamableClientTransport{Endpoint: s.GatewayURL,
			HTTPClient: &http.Client{Transport: bearer{tok, http.DefaultTransport}}, MaxRetries: -1}
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "t"}, nil).Connect(testCtx(t), transport,
			&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
		if err != nil {
			t.Fatal(err)
		}
		s.SetDelay(time.Hour)
		go cs.CallTool(context.Background(), &mcp.CallToolParams{Name: asanaTool, Arguments: map[string]any{"tool_name": "x"}})
		time.Sleep(50 * time.Millisecond)
		s.Close()
		cs.Close()
	}
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before, %d after Close:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

func TestMaxRequestBytes(t *testing.T) {
	call := func(s *Sim, size int) error {
		cs := connect(t, s, machineToken(t, s), nil)
		_, err := cs.CallTool(testCtx(t), &mcp.CallToolParams{Name: asanaTool,
			Arguments: map[string]any{"tool_name": "create_task", "notes": strings.Repeat("n", size)}})
		return err
	}
	if err := call(start(t, Options{MaxRequestBytes: 64 << 10}), 100<<10); err == nil {
		t.Error("100 KB argument accepted with a 64 KiB limit")
	}
	s := start(t, Options{MaxRequestBytes: 1 << 20})
	if err := call(s, 100<<10); err != nil {
		t.Errorf("100 KB argument with a 1 MiB limit: %v", err)
	}
	if got := s.Received(); len(got) != 1 || len(got[0].Body) < 100<<10 {
		t.Error("backend did not get the whole body")
	}
}

func TestThrottleNext(t *testing.T) {
	s := start(t, Options{})
	tok := machineToken(t, s)
	cs := connect(t, s, tok, nil)
	s.ThrottleNext(2)
	for i := range 2 {
		// Throttling comes before the authorizer, like FailNext.
		resp, body := rpc(t, s, "", nil, listMsg)
		if resp.StatusCode != 429 || string(body) != throttledBody {
			t.Errorf("request %d: HTTP %d %s, want 429", i, resp.StatusCode, body)
		}
	}
	if resp, body := rpc(t, s, tok, nil, listMsg); resp.StatusCode != 200 {
		t.Errorf("after the throttling: HTTP %d %s", resp.StatusCode, body)
	}
	// The go-sdk client sees a throttled call fail and its session go on.
	s.ThrottleNext(1)
	call := func() error {
		_, err := cs.CallTool(testCtx(t), &mcp.CallToolParams{Name: asanaTool, Arguments: map[string]any{"tool_name": "x"}})
		return err
	}
	if err := call(); err == nil {
		t.Error("throttled call succeeded")
	}
	if err := call(); err != nil {
		t.Errorf("call after the throttled one: %v", err)
	}
	if c := s.Counts(); c.Throttled != 3 || c.BackendRequests != 1 {
		t.Errorf("counts = %+v, want 3 throttled, 1 backend request", c)
	}
	s.ThrottleNext(1)
	s.ThrottleNext(0)
	if resp, _ := rpc(t, s, tok, nil, listMsg); resp.StatusCode != 200 {
		t.Errorf("ThrottleNext(0) did not cancel: HTTP %d", resp.StatusCode)
	}
}

// callOfSize is a tools/call message of exactly n bytes.
func callOfSize(n int) string {
	head := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"` + asanaTool + `","arguments":{"tool_name":"x","notes":"`
	tail := `"}}}`
	return head + strings.Repeat("n", n-len(head)-len(tail)) + tail
}

// The Gateway takes a 6 MB payload and refuses a larger one with 413,
// whether the client sends a Content-Length or streams the body.
func TestPayloadLimitIsSixMB(t *testing.T) {
	s := start(t, Options{})
	tok := machineToken(t, s)
	if resp, body := rpc(t, s, tok, nil, callOfSize(MaxPayloadBytes)); resp.StatusCode != 200 || strings.Contains(string(body), `"isError":true`) {
		t.Fatalf("a body of %d bytes: HTTP %d %.200s, want accepted", MaxPayloadBytes, resp.StatusCode, body)
	}
	if got := s.Received(); len(got) != 1 || len(got[0].Body) < MaxPayloadBytes-200 {
		t.Error("the backend did not get the 6 MB call")
	}
	resp, body := rpc(t, s, tok, nil, callOfSize(MaxPayloadBytes+1))
	if resp.StatusCode != 413 || string(body) != tooLargeBody {
		t.Errorf("a body of 6 MB + 1: HTTP %d %.200s, want 413", resp.StatusCode, body)
	}
	// Chunked: no Content-Length to refuse early.
	req, _ := http.NewRequest("POST", s.GatewayURL, io.MultiReader(strings.NewReader(callOfSize(MaxPayloadBytes+1))))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	chunked, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	chunked.Body.Close()
	if chunked.StatusCode != 413 {
		t.Errorf("a chunked body of 6 MB + 1: HTTP %d, want 413", chunked.StatusCode)
	}
	if c := s.Counts(); c.TooLarge != 2 || c.BackendRequests != 1 {
		t.Errorf("counts = %+v, want 2 refused, 1 backend request", c)
	}
}
