package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// The delaying proxy holds every request for its delay, once, before the
// upstream sees it, and passes the answer through. A fake clock records
// the sleeps: no timing.
func TestDelayHandlerDelaysEachRequestOnce(t *testing.T) {
	var (
		mu     sync.Mutex
		events []string
	)
	note := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, s)
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		note("upstream " + string(b))
		io.WriteString(w, "answer "+string(b))
	}))
	defer up.Close()
	target, _ := url.Parse(up.URL)
	h := newDelayHandler(target, 50*time.Millisecond, func(_ context.Context, d time.Duration) error {
		note("sleep " + d.String())
		return nil
	})
	srv := httptest.NewServer(h)
	defer srv.Close()

	for _, body := range []string{"one", "two", "three"} {
		resp, err := http.Post(srv.URL+"/mcp", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "answer "+body {
			t.Errorf("answer %q, want %q", b, "answer "+body)
		}
	}
	want := []string{"sleep 50ms", "upstream one", "sleep 50ms", "upstream two", "sleep 50ms", "upstream three"}
	if strings.Join(events, ", ") != strings.Join(want, ", ") {
		t.Errorf("events %q, want %q", events, want)
	}
	if n := h.requests.Load(); n != 3 {
		t.Errorf("%d requests counted, want 3", n)
	}
}

// An answer that starts while the Transport is still busy with the
// request's body reaches the client whole. The net/http server discards
// and closes an unread request body when the handler's answer writes its
// header; the Transport, forwarding that same body, reads it once more
// after its Content-Length bytes went out (to find any excess). Forwarded
// as it came, that Read failed ("http: invalid Read on closed Body"), the
// Transport closed its connection to the upstream, and the client lost the
// rest of the answer: "unexpected EOF" on a tools/list page now and then in
// the latency phase. Here the Transport's write of the request's last byte
// is held until the client has the answer's header, which makes the
// window certain instead of rare.
func TestDelayHandlerAnswerOutlivesRequestBody(t *testing.T) {
	testwait.NoLeaks(t)
	const body = `{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"cursor":"30"}}`
	finish := make(chan struct{}) // the upstream may send the rest of its answer
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		io.WriteString(w, "first half, ")
		w.(http.Flusher).Flush()
		select {
		case <-finish:
			io.WriteString(w, "second half")
		case <-r.Context().Done(): // the proxy dropped the connection
		}
	}))
	defer up.Close()
	target, _ := url.Parse(up.URL)
	h := newDelayHandler(target, time.Millisecond, func(context.Context, time.Duration) error { return nil })

	hold := make(chan struct{})   // the request's last byte may be reported written
	closed := make(chan struct{}) // the Transport closed the upstream connection
	var closeOnce, releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(hold) }) }
	defer release()
	tr := tunedTransport()
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &heldConn{Conn: c, tail: []byte(body), hold: hold, onClose: func() { closeOnce.Do(func() { close(closed) }) }}, nil
	}
	defer tr.CloseIdleConnections()
	wrote := make(chan error, 1) // the Transport's verdict on writing the request
	h.proxy.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) { wrote <- i.Err }}
		return tr.RoundTrip(r.WithContext(httptrace.WithClientTrace(r.Context(), trace)))
	})
	srv := httptest.NewServer(h)
	defer srv.Close()

	req, _ := http.NewRequestWithContext(testwait.Context(t), http.MethodPost, srv.URL+"/mcp", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req) // the answer's header: the server has closed the request body
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	release()
	if err := testwait.Await(t, wrote, "the request written"); err != nil {
		// A failed request write ends with the Transport closing its
		// connection: wait for that, so that the answer's rest certainly
		// finds it closed.
		t.Logf("the Transport failed to write the request: %v", err)
		testwait.Await(t, closed, "the upstream connection closed")
	}
	close(finish)
	b, err := io.ReadAll(resp.Body)
	if err != nil || string(b) != "first half, second half" {
		t.Errorf("answer %q, %v; want %q", b, err, "first half, second half")
	}
}

// heldConn holds the Write that completes tail (the request's body) until
// hold is closed, after the bytes went out: the Transport's goroutine that
// writes the request is held just where it would read the body once more.
type heldConn struct {
	net.Conn
	tail    []byte
	hold    <-chan struct{}
	onClose func()
	sent    []byte // written so far (one writer: the Transport's writeLoop)
	held    bool
}

func (c *heldConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.sent = append(c.sent, p[:n]...)
	if !c.held && bytes.HasSuffix(c.sent, c.tail) {
		c.held = true
		<-c.hold
	}
	return n, err
}

func (c *heldConn) Close() error {
	c.onClose()
	return c.Conn.Close()
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
