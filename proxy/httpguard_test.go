package proxy_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/proxy"
)

// hostileFront is a raw HTTP Gateway in front of the emulator: it passes
// every request on, except those whose JSON-RPC method is method, which
// answer answers itself.
func hostileFront(t *testing.T, sim *gatewaysim.Sim, method string, answer http.HandlerFunc) string {
	t.Helper()
	testwait.NoLeaks(t)
	target, err := url.Parse(sim.GatewayURL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if r.Method == http.MethodPost && bytes.Contains(body, []byte(`"method":"`+method+`"`)) {
			answer(w, r)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + target.Path
}

// peakHeap samples HeapInuse until the returned func is called, which
// returns the largest value seen.
func peakHeap(t *testing.T) func() uint64 {
	t.Helper()
	runtime.GC()
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-stopped
		return peak.Load()
	}
}

func TestRedirectedCallGoesNowhere(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	// Another origin: another port, and another host name for the same
	// listener, so that a request that follows the redirect is counted.
	loc := strings.Replace(other.URL, "127.0.0.1", "localhost", 1) + "/mcp?copy=1"
	// A library user's own client, unguarded: the proxy guards it.
	h := start(t, setup{httpClient: &http.Client{}, gatewayFor: func(sim *gatewaysim.Sim) string {
		return hostileFront(t, sim, "tools/call", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", loc)
			w.WriteHeader(http.StatusTemporaryRedirect)
		})
	}})
	res := h.call(t, asanaTool, map[string]any{"tool_name": "list_projects"})
	if !res.IsError {
		t.Fatalf("a redirected call succeeded: %s", text(res))
	}
	u, _ := url.Parse(loc)
	if want := "redirect (HTTP 307) to http://" + u.Host; !strings.Contains(text(res), want) || !strings.Contains(text(res), "not sent on") {
		t.Errorf("the result says %q, want it to name the redirect and its origin (%q)", text(res), want)
	}
	if strings.Contains(text(res), "copy=1") {
		t.Error("the result quotes the Location's query")
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the other origin received %d requests, want none", n)
	}
	if rs := h.sim.Received(); len(rs) != 0 {
		t.Errorf("the target received %d requests, want none", len(rs))
	}
	if err := leakcheck.Lines(h.out.String()+h.logs.String(), asanaToken, h.sim.ClientSecret); err != nil {
		t.Error(err)
	}
	// The session goes on.
	if _, ok := h.tools(t)[asanaTool]; !ok {
		t.Error("tools/list failed after the redirected call")
	}
}

// bombSize is what each bomb would take in memory unguarded: well above
// what a guarded proxy may use.
const (
	bombSize = 1 << 30
	heapCap  = 384 << 20
)

func TestDefaultHTTPClientIsGuarded(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/mcp", http.StatusPermanentRedirect)
	}))
	defer front.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, front.URL+"/mcp", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer access-token")
	resp, err := proxy.DefaultHTTPClient().Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("the redirect was followed (HTTP %d)", resp.StatusCode)
	}
	if elsewhere.Load() != 0 {
		t.Error("the POST and its Authorization reached another port")
	}
}

func TestEventBombOnACallIsBounded(t *testing.T) {
	h := start(t, setup{gatewayFor: func(sim *gatewaysim.Sim) string {
		return hostileFront(t, sim, "tools/call", func(w http.ResponseWriter, r *http.Request) {
			// One event of millions of short data lines: each line is
			// bounded, the event is not.
			w.Header().Set("Content-Type", "text/event-stream")
			block := []byte(strings.Repeat("data: "+strings.Repeat("x", 113)+"\n", 512))
			for sent := 0; sent < bombSize; sent += len(block) {
				if _, err := w.Write(block); err != nil {
					return
				}
			}
		})
	}})
	h.tools(t)
	peak := peakHeap(t)
	res := h.call(t, asanaTool, map[string]any{"tool_name": "list_projects"})
	heap := peak()
	if !res.IsError || !strings.Contains(text(res), "an event of the event stream from http://127.0.0.1:") || !strings.Contains(text(res), "is larger than 32 MiB") {
		t.Errorf("the call got %q (isError %v), want an error naming the 32 MiB event limit", text(res), res.IsError)
	}
	if heap > heapCap {
		t.Errorf("the heap reached %d MiB reading a %d MiB event, want under %d MiB", heap>>20, bombSize>>20, heapCap>>20)
	}
	t.Logf("peak heap in use: %d MiB", heap>>20)
	if _, ok := h.tools(t)[asanaTool]; !ok {
		t.Error("tools/list failed after the bomb")
	}
}

// A gzip bomb in answer to the first request of a connection is bounded
// too: initialize (read by the SDK's client, 2025 sessions) and
// server/discover (read by the proxy, for the stateless revision).
func TestGzipBombOnConnectIsBounded(t *testing.T) {
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	bomb := bytes.Repeat(member.Bytes(), bombSize>>20) // about 1 KiB per MiB
	for _, tc := range []struct {
		method  string
		options func(*proxy.Options)
		limit   string // the bound the error names
		// connect is the connect timeout: the error comes when it ends.
		// Reading 32 MiB of gzip takes about 0.7s under -race here and
		// took more than 2s on a loaded CI machine; 1 MiB is quick.
		connect time.Duration
	}{
		{"initialize", pin2025, "32 MiB", 8 * time.Second},
		{"server/discover", nil, "1 MiB", 2 * time.Second}, // a discover answer is small
	} {
		t.Run(tc.method, func(t *testing.T) {
			var served atomic.Int64
			h := start(t, setup{connect: tc.connect, options: tc.options, gatewayFor: func(sim *gatewaysim.Sim) string {
				return hostileFront(t, sim, tc.method, func(w http.ResponseWriter, r *http.Request) {
					served.Add(1)
					w.Header().Set("Content-Type", "application/json")
					w.Header().Set("Content-Encoding", "gzip")
					w.Write(bomb)
				})
			}})
			peak := peakHeap(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := h.client.ListTools(ctx, &mcp.ListToolsParams{})
			heap := peak()
			if served.Load() == 0 {
				t.Fatal("the bomb was never served")
			}
			if err == nil || !strings.Contains(err.Error(), "is larger than "+tc.limit) {
				t.Errorf("tools/list: %v, want an error naming the %s limit", err, tc.limit)
			}
			if heap > heapCap {
				t.Errorf("the heap reached %d MiB with a %d MiB gzip bomb (%d KiB compressed), want under %d MiB", heap>>20, bombSize>>20, len(bomb)>>10, heapCap>>20)
			}
			t.Logf("peak heap in use: %d MiB; bomb served %d times", heap>>20, served.Load())
		})
	}
}
