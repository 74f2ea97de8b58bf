package testwait

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	mu      sync.Mutex
	errs    []string
	cleanup []func()
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, format)
}
func (r *recorder) Cleanup(f func()) { r.cleanup = append(r.cleanup, f) }
func (r *recorder) done() {
	for i := len(r.cleanup) - 1; i >= 0; i-- {
		r.cleanup[i]()
	}
}

// TestNoLeaksFindsALeak: a goroutine the test leaves running fails it; one
// that ends within the grace period does not.
func TestNoLeaksFindsALeak(t *testing.T) {
	r := &recorder{TB: t}
	NoLeaks(r)
	stop := make(chan struct{})
	go func() { <-stop }()
	r.done()
	close(stop)
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "goroutines left running") {
		t.Errorf("a leaked goroutine: %q", r.errs)
	}

	r = &recorder{TB: t}
	NoLeaks(r)
	go func() { time.Sleep(50 * time.Millisecond) }()
	r.done()
	if len(r.errs) != 0 {
		t.Errorf("a goroutine that ends in time: %q", r.errs)
	}
}
