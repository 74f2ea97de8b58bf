package proxy

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// loginUpstream is a Gateway whose every open needs a login.
type loginUpstream struct {
	mu    sync.Mutex
	opens int
}

func (u *loginUpstream) open(context.Context) (upstreamSession, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.opens++
	return nil, fmt.Errorf("oauth: no client secret stored: %w", tokenstore.ErrLoginNeeded)
}

func (u *loginUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.opens
}

// TestLoginNeededIsRetriedOnRequestAndAtALongInterval: while the Gateway
// needs a login, maintain tries again every loginRetry, and at once when a
// request asks (ready), never in a tight loop.
func TestLoginNeededIsRetriedOnRequestAndAtALongInterval(t *testing.T) {
	testwait.NoLeaks(t)
	defer func(d time.Duration) { loginRetry = d }(loginRetry)
	loginRetry = 300 * time.Millisecond
	p, err := New(Options{GatewayURL: "http://127.0.0.1:1/mcp", ConnectTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	u := &loginUpstream{}
	p.up = u
	ctx, cancel := context.WithCancel(testwait.Context(t))
	done := make(chan struct{})
	go func() { defer close(done); p.maintain(ctx) }()
	defer func() { cancel(); testwait.Await(t, done, "maintain to end") }()

	time.Sleep(1050 * time.Millisecond) // tries at 0, 0.3, 0.6, 0.9 s
	if n := u.count(); n < 3 || n > 5 {
		t.Errorf("%d connect attempts in about 1 s with loginRetry 300ms, want 4", n)
	}
	before := u.count()
	if _, err := p.ready(ctx); err == nil {
		t.Fatal("ready succeeded with a Gateway that needs a login")
	}
	if n := u.count() - before; n != 1 {
		t.Errorf("a request caused %d connect attempts, want 1", n)
	}
}
