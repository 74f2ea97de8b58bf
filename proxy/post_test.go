package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// endlessDataLines is an event stream whose one event never ends: data
// lines, never the blank line that would close the event. It does end,
// after twice the event limit, so that a reader without the limit fails
// the test instead of reading forever.
type endlessDataLines struct{ read int }

func (r *endlessDataLines) Read(p []byte) (int, error) {
	const line = "data: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
	if r.read > 2*maxResponseSize {
		return 0, io.EOF
	}
	n := 0
	for n+len(line) <= len(p) {
		n += copy(p[n:], line)
	}
	r.read += n
	return n, nil
}

func TestEventOfEndlessDataLinesIsRefused(t *testing.T) {
	p, err := New(Options{GatewayURL: "http://127.0.0.1:1/mcp"})
	if err != nil {
		t.Fatal(err)
	}
	body := &endlessDataLines{}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	testwait.Within(t, 20*time.Second, "reading an endless event", func() { _, err = (&gatewayHTTP{events: p}).readEvents(ctx, body, wireHeaders{}, "agw-1") })
	if err == nil || !strings.Contains(err.Error(), "larger than 32 MiB") {
		t.Fatalf("readEvents = %v, want an error naming the event limit", err)
	}
	// The event's data is most of each line read ("data: " is not).
	if body.read > maxResponseSize*5/4 {
		t.Errorf("read %d MiB of one event before refusing it", body.read>>20)
	}
}

// roundTripFunc is an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The proxy's POSTs skip http.Client.Do for what its client does not use
// (roundTrip); a client that sets a timeout or a cookie jar still gets them,
// and an error is the *url.Error Do gives.
func TestPostHonoursTheClientsOwnSettings(t *testing.T) {
	hang := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		<-r.Context().Done()
		return nil, r.Context().Err()
	})
	g := &gatewayHTTP{url: "http://127.0.0.1:1/mcp", client: &http.Client{Transport: hang, Timeout: 50 * time.Millisecond}}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var err error
	testwait.Within(t, 20*time.Second, "a POST with the client's timeout", func() { _, err = g.send(ctx, wireHeaders{}, []byte(`{}`)) })
	var uerr *url.Error
	if !errors.As(err, &uerr) || !uerr.Timeout() {
		t.Errorf("a POST past the client's Timeout: %v; want a *url.Error that is a timeout", err)
	}

	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse("http://127.0.0.1:1/mcp")
	jar.SetCookies(u, []*http.Cookie{{Name: "c", Value: "1"}})
	var cookie string
	echo := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		cookie = r.Header.Get("Cookie")
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Request: r}, nil
	})
	g = &gatewayHTTP{url: u.String(), client: &http.Client{Transport: echo, Jar: jar}}
	resp, err := g.send(ctx, wireHeaders{}, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cookie != "c=1" {
		t.Errorf("Cookie %q; want the client's jar's c=1", cookie)
	}

	g = &gatewayHTTP{url: u.String(), client: &http.Client{Transport: echo}}
	if resp, err = g.send(ctx, wireHeaders{}, []byte(`{}`)); err != nil || resp.Body == nil {
		t.Fatalf("a transport's answer without a Body: %v, body %v; want an empty body, as Do gives", err, resp)
	}
	resp.Body.Close()

	refuse := roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("refused") })
	g = &gatewayHTTP{url: u.String(), client: &http.Client{Transport: refuse}}
	if _, err := g.send(ctx, wireHeaders{}, []byte(`{}`)); !errors.As(err, &uerr) || uerr.Op != "Post" || uerr.URL != u.String() {
		t.Errorf("a refused POST: %#v; want a *url.Error for Post %s", err, u)
	}
}
