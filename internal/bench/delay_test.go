package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
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
