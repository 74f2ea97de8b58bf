package proxy

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// The scrubber can only mask a secret it knows. An injected secret is known
// once it has been read from the SecretSource, so Run reads every rule's
// secret at start, in the background (initialize never waits for it), and
// everything that can carry Gateway bytes toward the client or into the log
// waits until those reads are done or have failed: tools/list and
// tools/call answers, notifications, log records.

// prime reads every rule's secret once, in parallel, each read bounded by
// SecretTimeout, then closes p.primed.
func (p *Proxy) prime(ctx context.Context) {
	defer close(p.primed)
	// Also a rule whose source bounds its own reads (Rule.dynamic), which
	// goes on reading in the background: what waits for prime waits no
	// longer than for a keychain.
	ctx, cancel := context.WithTimeout(ctx, p.opts.SecretTimeout)
	defer cancel()
	var wg sync.WaitGroup
	seen := map[string]bool{}
	for _, r := range p.opts.Rules {
		if seen[r.Secret] {
			continue
		}
		seen[r.Secret] = true
		wg.Go(func() {
			if _, err := p.secret(ctx, &r); err != nil {
				// Said again, with advice, on each call that needs it.
				p.opts.Logger.Debug("secret not readable at start", "secret", r.Secret, "error", p.redact(err))
			}
		})
	}
	wg.Wait()
}

// waitPrimed waits until prime is done, or ctx is.
func (p *Proxy) waitPrimed(ctx context.Context) error {
	select {
	case <-p.primed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// primedHandler holds each log record until prime is done, so that the log
// writer's scrubber knows the secrets the record may carry. It waits at
// most limit, in case Run never started.
type primedHandler struct {
	slog.Handler
	primed <-chan struct{}
	limit  time.Duration
}

func (h primedHandler) Handle(ctx context.Context, r slog.Record) error {
	select {
	case <-h.primed:
	default:
		t := time.NewTimer(h.limit)
		select {
		case <-h.primed:
		case <-t.C:
		}
		t.Stop()
	}
	return h.Handler.Handle(ctx, r)
}

func (h primedHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return primedHandler{h.Handler.WithAttrs(attrs), h.primed, h.limit}
}

func (h primedHandler) WithGroup(name string) slog.Handler {
	return primedHandler{h.Handler.WithGroup(name), h.primed, h.limit}
}
