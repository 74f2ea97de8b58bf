// Package httpguard keeps what agw-proxy sends to the Gateway and Cognito
// from going anywhere else, and what they answer from taking all memory.
//
// Client returns a copy of an *http.Client whose transport enforces two
// rules on every request, whoever makes it (the go-sdk's Streamable HTTP
// client, the proxy's own POSTs, x/oauth2's token requests, discovery,
// doctor's probes):
//
//   - No redirect leads to another origin, and no POST (no request but a GET
//     or HEAD) is redirected at all. The Gateway and Cognito never redirect
//     a POST; following one would send the request body (a tool call with
//     its injected secret, or the client secret) and its Authorization
//     header again, perhaps to another host or over plain http. A GET may be
//     redirected up to MaxRedirects times within its origin (scheme, host and
//     port). A refused redirect is a *RedirectError naming only the
//     Location's origin: its path and query could carry data.
//   - Every response body is bounded, counted after the transparent gzip
//     decompression of net/http: a plain body to MaxBodySize, and a
//     text/event-stream body, which may run for hours, to MaxEventSize per
//     event (the bytes between blank lines, however many data: lines). Reading
//     past a limit is a *LimitError.
//
// The redirect rule lives in the transport rather than in CheckRedirect, so
// that a caller's CheckRedirect cannot weaken it and the errors never quote a
// Location. The transport follows the allowed GET redirects itself;
// http.Client never sees a redirect.
//
//	client := httpguard.Client(&http.Client{Transport: t})
//	resp, err := client.Post(gatewayURL, "application/json", body)
//	// err wraps a *httpguard.RedirectError if the Gateway redirected the POST
package httpguard

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Limits.
const (
	// MaxBodySize bounds a response body that is not an event stream. The
	// Gateway's own payload limit is 6 MB.
	MaxBodySize = 32 << 20
	// MaxEventSize bounds one event of a text/event-stream body: the bytes
	// between two blank lines. The stream itself is not bounded.
	MaxEventSize = 32 << 20
	// MaxRedirects bounds the same-origin redirects followed for a GET.
	MaxRedirects = 3
)

// Client returns a copy of c (nil means http.DefaultClient) whose transport
// refuses redirects of a POST and across origins and bounds response bodies.
// Applied to a client it returned, it adds nothing.
func Client(c *http.Client) *http.Client {
	if c == nil {
		c = http.DefaultClient
	}
	g := *c
	if _, ok := g.Transport.(*transport); !ok {
		base := g.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		g.Transport = &transport{base: base}
	}
	return &g
}

// Base returns the transport under c's guard: c.Transport for a client that
// Client did not return (http.DefaultTransport when nil). It lets a caller
// inspect settings such as the proxy function.
func Base(c *http.Client) http.RoundTripper {
	rt := c.Transport
	if t, ok := rt.(*transport); ok {
		return t.base
	}
	if rt == nil {
		return http.DefaultTransport
	}
	return rt
}

// A RedirectError reports a redirect that was not followed.
type RedirectError struct {
	Method string // of the request that was redirected
	Status int    // the redirect's HTTP status
	// To is the origin of the redirect's Location (scheme://host:port), or
	// "" when the Location is not a usable URL.
	To     string
	reason string
}

func (e *RedirectError) Error() string {
	to := e.To
	if to == "" {
		to = "an unusable Location"
	}
	return fmt.Sprintf("httpguard: refused to follow a redirect (HTTP %d) of a %s to %s: %s", e.Status, e.Method, to, e.reason)
}

// A LimitError reports a response body, or one event of an event stream,
// larger than its limit.
type LimitError struct {
	From  string // the origin that sent it (scheme://host:port)
	Event bool   // one event of a text/event-stream body, not the whole body
	Limit int64  // bytes
}

func (e *LimitError) Error() string {
	what := "the response"
	if e.Event {
		what = "an event of the event stream"
	}
	return fmt.Sprintf("httpguard: %s from %s is larger than %s", what, e.From, size(e.Limit))
}

func size(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// transport is the guard around a base RoundTripper.
type transport struct {
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	from := origin(req.URL)
	for hops := 0; ; hops++ {
		resp, err := t.base.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		loc := resp.Header.Get("Location")
		if !isRedirect(resp.StatusCode) || loc == "" {
			limit(resp, from)
			return resp, nil
		}
		discard(resp)
		rerr := &RedirectError{Method: req.Method, Status: resp.StatusCode}
		next, err := req.URL.Parse(loc)
		if err != nil || (next.Scheme != "http" && next.Scheme != "https") || next.Host == "" {
			rerr.reason = "the Location is not an http(s) URL"
			return nil, rerr
		}
		rerr.To = origin(next)
		switch {
		case req.Method != http.MethodGet && req.Method != http.MethodHead:
			rerr.reason = "the Gateway and Cognito never redirect a " + req.Method + ", and following it would send the request and its credentials again"
			return nil, rerr
		case rerr.To != from:
			rerr.reason = "it leads to another origin than " + from
			return nil, rerr
		case hops == MaxRedirects:
			rerr.reason = fmt.Sprintf("more than %d redirects", MaxRedirects)
			return nil, rerr
		}
		// Same origin: the request goes again, headers and all, as
		// http.Client would send it within one host.
		r := req.Clone(req.Context())
		r.URL = next
		r.Body, r.GetBody, r.ContentLength = nil, nil, 0
		req = r
	}
}

// CloseIdleConnections closes the base transport's idle connections, so
// that http.Client.CloseIdleConnections still works through the guard.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// isRedirect reports the statuses http.Client would follow.
func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// discard reads a little of a body that is not passed on, so that the
// connection can be reused, and closes it.
func discard(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
}

// origin returns scheme://host:port, the port always given.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// limit bounds resp.Body.
func limit(resp *http.Response, from string) {
	if resp.Body == nil || resp.Body == http.NoBody {
		return
	}
	if isEventStream(resp.Header.Get("Content-Type")) {
		resp.Body = &eventBody{rc: resp.Body, limit: MaxEventSize, from: from, prev: '\n'}
		return
	}
	b := &plainBody{rc: resp.Body, left: MaxBodySize, from: from}
	if resp.ContentLength > MaxBodySize {
		b.err = b.tooLarge() // no need to read it to know
	}
	resp.Body = b
}

func isEventStream(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "text/event-stream")
}

// plainBody ends with a *LimitError after MaxBodySize bytes.
type plainBody struct {
	rc   io.ReadCloser
	left int64
	from string
	err  error
}

func (b *plainBody) tooLarge() error {
	return &LimitError{From: b.from, Limit: MaxBodySize}
}

func (b *plainBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Ask for one byte more than is left, to tell a body of exactly the
	// limit from a larger one.
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) <= b.left {
		b.left -= int64(n)
		return n, err
	}
	n = int(b.left)
	b.left = 0
	b.err = b.tooLarge()
	return n, b.err
}

func (b *plainBody) Close() error { return b.rc.Close() }

// eventBody ends with a *LimitError when one event runs past its limit.
// An event ends at a blank line: two line ends in a row, a line end being
// "\r\n", "\n" or "\r".
type eventBody struct {
	rc    io.ReadCloser
	limit int64
	from  string
	size  int64 // bytes of the current event read so far
	prev  byte  // the last byte read; '\n' at the start
	err   error
}

func isLineEnd(c byte) bool { return c == '\n' || c == '\r' }

func (b *eventBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.rc.Read(p)
	start := 0       // where the current event begins in p[:n]
	before := b.size // bytes of the current event before start
	nextCR, noCR := -1, false
	for pos := 0; pos < n; {
		// The next line end; "\n" is found fast, "\r" alone is rare but
		// allowed.
		j := -1
		if k := bytes.IndexByte(p[pos:n], '\n'); k >= 0 {
			j = pos + k
		}
		if !noCR {
			if nextCR < pos {
				if k := bytes.IndexByte(p[pos:n], '\r'); k >= 0 {
					nextCR = pos + k
				} else {
					noCR = true
				}
			}
			if !noCR && (j < 0 || nextCR < j) {
				j = nextCR
			}
		}
		if j < 0 {
			break
		}
		prev := b.prev
		if j > 0 {
			prev = p[j-1]
		}
		if isLineEnd(prev) && !(prev == '\r' && p[j] == '\n') {
			// A blank line: the event ends with it.
			if before+int64(j+1-start) > b.limit {
				return b.over(start, before)
			}
			start, before = j+1, 0
		}
		pos = j + 1
	}
	if n > 0 {
		b.prev = p[n-1]
	}
	if before+int64(n-start) > b.limit {
		return b.over(start, before)
	}
	b.size = before + int64(n-start)
	return n, err
}

// over ends the body: the bytes up to the limit are returned with the error.
func (b *eventBody) over(start int, before int64) (int, error) {
	b.err = &LimitError{From: b.from, Event: true, Limit: b.limit}
	return start + int(b.limit-before), b.err
}

func (b *eventBody) Close() error { return b.rc.Close() }
