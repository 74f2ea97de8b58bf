package httpguard_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/httpguard"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
)

const (
	asanaSecret = "1/1209876543210:asana-user-token-SECRET"
	accessToken = "eyJhbGciOiJSUzI1NiJ9.access-token-SECRET-value"
	// locationSecret stands for data a hostile server puts in a Location:
	// errors must never quote it.
	locationSecret = "location-carried-SECRET-0123456789abcdef"
)

// sink is a server that must see nothing: it counts what reaches it.
type sink struct {
	*httptest.Server
	hits atomic.Int64
}

func newSink(t *testing.T) *sink {
	t.Helper()
	s := &sink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		io.Copy(io.Discard, r.Body)
	}))
	t.Cleanup(s.Close)
	return s
}

// redirector answers every request with status and Location to.
func redirector(t *testing.T, status int, to string, tls bool) *httptest.Server {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Location", to)
		w.WriteHeader(status)
	})
	var s *httptest.Server
	if tls {
		s = httptest.NewTLSServer(h)
	} else {
		s = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

// otherHost returns u with the host "localhost" instead of 127.0.0.1: the
// same listener, another origin.
func otherHost(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = "localhost:" + u.Port()
	return u.String()
}

func originOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Scheme + "://" + u.Host
}

func toolCall(t *testing.T, c *http.Client, target string) (*http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"X-Asana-Token":"Bearer ` + asanaSecret + `"}}}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+accessToken)
	return c.Do(req)
}

func get(t *testing.T, c *http.Client, target string) (*http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	return c.Do(req)
}

// wantRedirectRefused checks err: a *RedirectError naming the origin only.
func wantRedirectRefused(t *testing.T, resp *http.Response, err error, to string) {
	t.Helper()
	if err == nil {
		resp.Body.Close()
		t.Fatalf("the redirect was followed (HTTP %d), want it refused", resp.StatusCode)
	}
	var re *httpguard.RedirectError
	if !errors.As(err, &re) {
		t.Fatalf("error %v, want a *httpguard.RedirectError", err)
	}
	if re.To != to {
		t.Errorf("RedirectError.To = %q, want %q", re.To, to)
	}
	if !strings.Contains(err.Error(), to) {
		t.Errorf("error %q does not name the Location's origin %s", err, to)
	}
	if lerr := leakcheck.Text(err.Error(), locationSecret, asanaSecret, accessToken); lerr != nil {
		t.Errorf("the error quotes the Location or a credential: %v", lerr)
	}
}

func TestPOSTIsNeverRedirected(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int
		tls    bool
		// to returns the Location for the sink's URL.
		to func(t *testing.T, sinkURL string) string
	}{
		{"307 to another host", http.StatusTemporaryRedirect, false, otherHost},
		{"308 to another port of the same host", http.StatusPermanentRedirect, false, func(t *testing.T, u string) string { return u }},
		{"302 to another host (would become a GET)", http.StatusFound, false, otherHost},
		{"307 from https to http", http.StatusTemporaryRedirect, true, func(t *testing.T, u string) string { return u }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSink(t)
			loc := tt.to(t, s.URL) + "/steal?data=" + locationSecret
			r := redirector(t, tt.status, loc, tt.tls)
			c := r.Client()
			// A caller's CheckRedirect that follows anything changes nothing.
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return nil }
			resp, err := toolCall(t, httpguard.Client(c), r.URL+"/mcp")
			wantRedirectRefused(t, resp, err, originOf(t, loc))
			if n := s.hits.Load(); n != 0 {
				t.Errorf("the other origin received %d requests, want none", n)
			}
		})
	}
}

func TestPOSTRedirectWithinTheOriginIsRefusedToo(t *testing.T) {
	var hits atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/mcp", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	s := httptest.NewServer(mux)
	defer s.Close()
	resp, err := toolCall(t, httpguard.Client(s.Client()), s.URL+"/mcp")
	wantRedirectRefused(t, resp, err, s.URL)
	if hits.Load() != 0 {
		t.Error("the redirected POST was sent")
	}
}

func TestGETRedirectWithinTheOriginIsFollowed(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/b", http.StatusFound) })
	mux.HandleFunc("/b", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/c", http.StatusMovedPermanently) })
	mux.HandleFunc("/c", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "arrived") })
	s := httptest.NewServer(mux)
	defer s.Close()
	resp, err := get(t, httpguard.Client(s.Client()), s.URL+"/a")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(b) != "arrived" {
		t.Errorf("got HTTP %d %q, want 200 \"arrived\"", resp.StatusCode, b)
	}
}

func TestGETRedirectToAnotherOriginIsRefused(t *testing.T) {
	s := newSink(t)
	for _, to := range []string{otherHost(t, s.URL), s.URL} {
		loc := to + "/jwks.json?x=" + locationSecret
		r := redirector(t, http.StatusFound, loc, false)
		resp, err := get(t, httpguard.Client(nil), r.URL+"/.well-known/openid-configuration")
		wantRedirectRefused(t, resp, err, originOf(t, loc))
	}
	if n := s.hits.Load(); n != 0 {
		t.Errorf("the other origin received %d requests, want none", n)
	}
}

func TestTooManyRedirectsAreRefused(t *testing.T) {
	var hops atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hops.Add(1)
		http.Redirect(w, r, "/hop"+strconv.FormatInt(n, 10), http.StatusFound)
	}))
	defer s.Close()
	resp, err := get(t, httpguard.Client(nil), s.URL+"/start")
	wantRedirectRefused(t, resp, err, s.URL)
	if n := hops.Load(); n != httpguard.MaxRedirects+1 {
		t.Errorf("the server saw %d requests, want %d (the first and %d redirects)", n, httpguard.MaxRedirects+1, httpguard.MaxRedirects)
	}
}

func TestGuardingTwiceAddsNothing(t *testing.T) {
	base := &http.Transport{}
	c := &http.Client{Transport: base, Timeout: time.Minute}
	once := httpguard.Client(c)
	twice := httpguard.Client(once)
	if once == c || twice == once {
		t.Error("Client returned its argument, want a copy")
	}
	if twice.Transport != once.Transport {
		t.Error("guarding a guarded client wrapped its transport again")
	}
	if httpguard.Base(twice) != base || httpguard.Base(c) != base {
		t.Error("Base does not return the transport under the guard")
	}
	if c.Transport != base || twice.Timeout != time.Minute {
		t.Error("Client changed its argument or dropped its settings")
	}
}

// gzipped returns n MiB of zero bytes, gzip-compressed: one member of 1 MiB
// repeated (a gzip stream may hold many, and net/http reads them all).
func gzipped(t *testing.T, n int) []byte {
	t.Helper()
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	return bytes.Repeat(member.Bytes(), n)
}

func TestGzipBombIsCutAtTheLimit(t *testing.T) {
	bomb := gzipped(t, 4*httpguard.MaxBodySize>>20)
	if len(bomb) > httpguard.MaxBodySize/32 {
		t.Fatalf("the bomb is %d bytes compressed: not a bomb", len(bomb))
	}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(bomb)
	}))
	defer s.Close()
	// The request sets no Accept-Encoding: net/http asks for gzip and
	// decompresses on its own, so the limit must count decompressed bytes.
	resp, err := toolCall(t, httpguard.Client(nil), s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if !resp.Uncompressed {
		t.Fatal("net/http did not decompress the body: the test does not test the bomb")
	}
	n, err := io.Copy(io.Discard, resp.Body)
	var le *httpguard.LimitError
	if !errors.As(err, &le) || le.Event || le.Limit != httpguard.MaxBodySize {
		t.Fatalf("reading the bomb: %v, want a body *LimitError of %d bytes", err, httpguard.MaxBodySize)
	}
	if n != httpguard.MaxBodySize {
		t.Errorf("read %d bytes before the error, want exactly the limit, %d", n, httpguard.MaxBodySize)
	}
	if want := "larger than 32 MiB"; !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), s.URL) {
		t.Errorf("error %q, want it to say %q and name %s", err, want, s.URL)
	}
	if _, err := resp.Body.Read(make([]byte, 1)); !errors.As(err, &le) {
		t.Errorf("a read after the limit gave %v, want the same error", err)
	}
}

func TestBodyUpToTheLimitIsRead(t *testing.T) {
	for _, tt := range []struct {
		size         int
		chunked, bad bool
	}{
		{size: httpguard.MaxBodySize},
		{size: httpguard.MaxBodySize, chunked: true},
		{size: httpguard.MaxBodySize + 1, chunked: true, bad: true},
		{size: httpguard.MaxBodySize + 1, bad: true}, // Content-Length says so: nothing is read
	} {
		t.Run(fmt.Sprintf("%d chunked=%v", tt.size, tt.chunked), func(t *testing.T) {
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !tt.chunked {
					w.Header().Set("Content-Length", strconv.Itoa(tt.size))
				}
				block := bytes.Repeat([]byte("x"), 1<<16)
				for left := tt.size; left > 0; left -= len(block) {
					if _, err := w.Write(block[:min(left, len(block))]); err != nil {
						return
					}
				}
			}))
			defer s.Close()
			resp, err := get(t, httpguard.Client(nil), s.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			n, err := io.Copy(io.Discard, resp.Body)
			var le *httpguard.LimitError
			switch {
			case !tt.bad && err != nil:
				t.Errorf("a body of %d bytes: %v after %d bytes, want it read whole", tt.size, err, n)
			case tt.bad && !errors.As(err, &le):
				t.Errorf("a body of %d bytes: read %d bytes, error %v, want a *LimitError", tt.size, n, err)
			case tt.bad && !tt.chunked && n != 0:
				t.Errorf("Content-Length over the limit: %d bytes read first, want none", n)
			}
		})
	}
}

// eventStream serves a text/event-stream made of block repeated until total
// bytes are written (or the client goes away).
func eventStream(t *testing.T, block string, total int) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		buf := []byte(strings.Repeat(block, max(1, (64<<10)/len(block))))
		for left := total; left > 0; left -= len(buf) {
			if _, err := w.Write(buf[:min(left, len(buf))]); err != nil {
				return
			}
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func TestEventOfManySmallDataLinesIsCut(t *testing.T) {
	s := eventStream(t, "data: x\n", 2*httpguard.MaxEventSize)
	resp, err := get(t, httpguard.Client(nil), s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	var le *httpguard.LimitError
	if !errors.As(err, &le) || !le.Event {
		t.Fatalf("read %d bytes, error %v, want an event *LimitError", n, err)
	}
	if n != httpguard.MaxEventSize {
		t.Errorf("read %d bytes before the error, want exactly the limit, %d", n, httpguard.MaxEventSize)
	}
	if want := "an event of the event stream from " + s.URL + " is larger than 32 MiB"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want it to say %q", err, want)
	}
}

func TestLongStreamOfSmallEventsIsNotCut(t *testing.T) {
	for _, sep := range []string{"\n", "\r\n", "\r"} {
		t.Run(strconv.Quote(sep), func(t *testing.T) {
			event := `event: message` + sep + `data: {"jsonrpc":"2.0","method":"notifications/progress",` + sep + `data: "params":{"progress":1}}` + sep + sep
			total := (httpguard.MaxEventSize + 4<<20) / len(event) * len(event)
			s := eventStream(t, event, total)
			resp, err := get(t, httpguard.Client(nil), s.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			n, err := io.Copy(io.Discard, resp.Body)
			if err != nil || n != int64(total) {
				t.Errorf("read %d of %d bytes, error %v: a long stream of small events was cut", n, total, err)
			}
		})
	}
}
