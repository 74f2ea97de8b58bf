package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"time"
)

// delayHandler is a reverse proxy to target that holds every request for
// delay before forwarding it: one added round trip per request, the
// latency of a Gateway far away (34 pages of 30 tools cost 34 round trips).
// sleep is the clock seam (sleepCtx outside tests). Requests are read
// whole first (see ServeHTTP); answers stream through unbuffered, so SSE is
// not held up.
type delayHandler struct {
	delay    time.Duration
	sleep    func(context.Context, time.Duration) error
	proxy    *httputil.ReverseProxy
	requests atomic.Int64 // requests delayed so far
}

func newDelayHandler(target *url.URL, delay time.Duration, sleep func(context.Context, time.Duration) error) *delayHandler {
	return &delayHandler{
		delay: delay,
		sleep: sleep,
		proxy: &httputil.ReverseProxy{
			Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(target) },
			Transport:     tunedTransport(),
			FlushInterval: -1,
			// A proxy process ended mid-answer is no error of the benchmark's.
			ErrorLog: log.New(io.Discard, "", 0),
		},
	}
}

func (h *delayHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	// The request arrives whole before the delay, as over a network, and
	// is forwarded from memory. Forwarding r.Body itself loses answers now
	// and then: the server discards and closes an unread request body
	// when the answer's header is written, while the Transport, its last
	// byte sent, reads the body once more for any excess; that Read fails
	// ("invalid Read on closed Body") and the Transport closes its
	// connection to the target mid-answer (the client: "unexpected EOF").
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client gave up
	}
	r.Body, r.ContentLength, r.TransferEncoding = io.NopCloser(bytes.NewReader(body)), int64(len(body)), nil
	if err := h.sleep(r.Context(), h.delay); err != nil {
		return // the client gave up
	}
	h.proxy.ServeHTTP(w, r)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// delayServer serves a delayHandler on 127.0.0.1.
type delayServer struct {
	*delayHandler
	ln  net.Listener
	srv *http.Server
}

// startDelay starts a delaying proxy in front of target (http://host:port).
func startDelay(target string, delay time.Duration) (*delayServer, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := newDelayHandler(u, delay, sleepCtx)
	d := &delayServer{delayHandler: h, ln: ln, srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go d.srv.Serve(ln)
	return d, nil
}

// URL is the proxy's base URL, http://127.0.0.1:P.
func (d *delayServer) URL() string { return "http://" + d.ln.Addr().String() }

func (d *delayServer) Close() {
	d.srv.Close()
	d.proxy.Transport.(*http.Transport).CloseIdleConnections()
}
