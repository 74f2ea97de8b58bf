package proxy

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"

	"github.com/agw-proxy/agw-proxy/internal/toolcache"
)

// The tool cache (Options.ToolCache) keeps the list the client gets between
// runs, so that the first tools/list of a run is answered at once, whatever
// the Gateway's size and distance (a 1,000-tool Gateway is 34 pages, one
// round trip each).
//
//   - On start (Run) the entry for the key (Options.Profile, the Gateway
//     URL, Options.Identity, the rules) is read, one file, in
//     the background. Until the Gateway's list has been read, tools/list
//     is answered from it (after the secrets are read, as every answer
//     that carries Gateway bytes is: prime.go).
//   - The proxy connects and lists the Gateway's tools as it always does.
//     The list the client would now get is compared with the cached one:
//     when it is another, a client that listed hears tools/list_changed
//     (a 2026-07-28 client on its subscriptions/listen stream), and the
//     entry is rewritten. Later changes rewrite it too.
//   - A call never uses the cached list: it waits for the Gateway's
//     (ready), which alone decides which tools get which secrets. A call to
//     a tool the Gateway no longer lists goes to the Gateway, with no
//     secret, and the client gets the Gateway's own answer (for an unknown
//     tool, -32602 "unknown tool").
//   - What is stored is what the client is given: stripped and scrubbed of
//     every secret and token the scrubber knows (clientBytes), never the
//     Gateway's bytes as they came.
//   - The Gateway's cache hints (2026-07-28): the entry is one user's
//     (keyed by the identity), so cacheScope "private" and "public" (and
//     none, or "") allow it; a list with any other cacheScope is not stored, and
//     its old entry removed. ttlMs says how long a list stays fresh: the
//     proxy serves the cached list only while it reads the Gateway's anew,
//     at every start, so a ttlMs of 0 ("stale at once") is honoured as
//     stale-while-revalidate, and no ttlMs makes the proxy skip a listing.
//
// Nothing of the cache is an error to the client: an entry that cannot be
// read or written is no entry, logged at debug level.

// cacheState is the proxy's side of the tool cache.
type cacheState struct {
	c      *toolcache.Cache // nil: no cache
	key    toolcache.Key
	loaded chan struct{} // closed once the entry has been read, or there is none

	// Under Proxy.mu:
	// serving: listed is the cached list, and the Gateway's has not been
	// read yet.
	serving bool
	// stored is the list in the entry as far as this proxy knows (read at
	// start, or stored since), so that an unchanged list is not written.
	stored []byte
}

func (c *cacheState) init(opts Options) {
	c.loaded = make(chan struct{})
	if opts.ToolCache == nil {
		close(c.loaded)
		return
	}
	c.c = opts.ToolCache
	c.key = ToolCacheKey(opts)
}

func (c *cacheState) on() bool { return c.c != nil }

// ToolCacheKey returns the tool cache's key of a proxy made with opts, for
// a command that shows or removes its entry.
func ToolCacheKey(opts Options) toolcache.Key {
	return toolcache.Key{Profile: opts.Profile, GatewayURL: opts.GatewayURL, Identity: opts.Identity, Rules: rulesKey(opts.Rules)}
}

// rulesKey is the rules' part of the cache's key (toolcache hashes the
// whole key): every field that decides which tools are stripped of what,
// and what a call carries, each length-prefixed, so that no two rule sets
// share one. A rule's source is not among them: a change of it keeps the
// entry.
func rulesKey(rules []Rule) string {
	b := make([]byte, 0, 64*len(rules))
	field := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	for _, r := range rules {
		field(r.Argument)
		field(cmp.Or(r.Via, ViaArgument))
		field(r.Secret)
		field(cmp.Or(r.Format, DefaultFormat))
		b = binary.AppendUvarint(b, uint64(len(r.Tools)))
		for _, t := range r.Tools {
			field(t)
		}
	}
	return string(b)
}

// loadCache reads the cache's entry and, unless the Gateway's list is there
// already, makes it the list the client gets.
func (p *Proxy) loadCache() {
	c := &p.cache
	if c.c == nil {
		return
	}
	defer close(c.loaded)
	e, err := c.c.Entry(c.key)
	if err != nil {
		p.log.Debug("no tool cache entry", "reason", p.redact(err))
		return
	}
	p.mu.Lock()
	c.stored = e.List
	serving := p.listed == nil
	if serving {
		p.listed = e.List
		c.serving = true
		p.listGen++
	}
	p.mu.Unlock()
	// Logged outside p.mu: a log record waits for the secrets' reads at
	// start (primedHandler), and the reading goroutine for p.mu.
	if serving {
		p.log.Debug("tool list from the cache", "count", e.Tools, "written", e.Written)
	}
}

// warm reports whether tools/list is answered from the cache: there is an
// entry, and the Gateway's list has not been read yet. It waits for the
// entry's read, one file.
func (p *Proxy) warm(ctx context.Context) bool {
	select {
	case <-p.cache.loaded:
	case <-ctx.Done():
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cache.serving
}

// clientBytes returns listed as the client gets it: compact, and scrubbed
// of every secret and token the scrubber knows (call it once the secrets
// have been read).
func (p *Proxy) clientBytes(listed []byte) []byte {
	if bytes.IndexByte(listed, '\n') >= 0 || bytes.IndexByte(listed, '\r') >= 0 {
		var buf bytes.Buffer
		if json.Compact(&buf, listed) == nil {
			listed = buf.Bytes()
		}
	}
	return p.scrub.ScrubJSON(listed)
}

// storeCache makes client, the list with count tools as the client gets
// it, the cache's entry, unless it is already; noStore (the Gateway's
// cacheScope forbids keeping it) removes the entry instead.
func (p *Proxy) storeCache(client []byte, count int, noStore bool) {
	c := &p.cache
	<-c.loaded // the entry read at start must not overwrite what is stored here
	p.mu.Lock()
	same := c.stored != nil && bytes.Equal(c.stored, client)
	if noStore {
		c.stored = nil
	} else {
		c.stored = client
	}
	p.mu.Unlock()
	if noStore {
		if err := c.c.Remove(c.key); err != nil {
			p.log.Debug("tool cache entry not removed", "error", p.redact(err))
		}
		return
	}
	if same {
		return
	}
	if err := c.c.Store(c.key, client, count); err != nil {
		p.log.Debug("tool list not cached", "error", p.redact(err))
		return
	}
	p.log.Debug("tool list cached", "count", count, "bytes", len(client))
}

// cacheableScope reports whether a list with cacheScope v (JSON) may be
// kept in the user's own cache.
func cacheableScope(v []byte) bool {
	var s string
	if json.Unmarshal(v, &s) != nil {
		return string(bytes.TrimSpace(v)) == "null"
	}
	// go-sdk writes an unset scope as "" (which the revision reads as
	// public).
	return s == "" || s == "private" || s == "public"
}
