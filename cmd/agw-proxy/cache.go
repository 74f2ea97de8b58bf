package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/internal/toolcache"
	"github.com/agw-proxy/agw-proxy/proxy"
)

func init() {
	register(command{name: "cache", summary: "Clear the tool lists serve keeps between runs", run: runCache})
}

const cacheUsage = `Usage:
    agw-proxy cache clear

serve keeps the tool list each profile's client got (stripped of the
injected arguments, scrubbed of every secret) in the user's cache directory,
and answers the client's first tools/list from it at once while it lists the
Gateway's tools anew. "cache clear" removes every such list, of every
profile, and nothing else. Turn the cache off with cache: false in a
profile, or serve --no-cache.

Options:
    -h, --help             Show this help

Examples:
    $ agw-proxy cache clear
`

func runCache(_ context.Context, e *env, args []string) error {
	fs := pflag.NewFlagSet("cache", pflag.ContinueOnError)
	if done, err := parseFlags(e, fs, cacheUsage, args); done {
		return err
	}
	switch {
	case fs.NArg() == 0:
		return usageErrorf("cache", "needs a subcommand: clear")
	case fs.Arg(0) != "clear":
		return usageErrorf("cache", "unknown subcommand %q (the one there is: clear)", fs.Arg(0))
	case fs.NArg() > 1:
		return usageErrorf("cache", "clear takes no arguments, got %d", fs.NArg()-1)
	}
	dir, err := e.toolCacheDir()
	if err != nil {
		return fmt.Errorf("no user cache directory, so there is no tool cache: %w", err)
	}
	n, err := toolcache.New(dir).Clear()
	switch {
	case err != nil:
		return fmt.Errorf("removed %d cached tool lists from %s, but not all: %w", n, dir, err)
	case n == 0:
		writef(e.stdout, "No cached tool lists in %s\n", dir)
	case n == 1:
		writef(e.stdout, "Removed 1 cached tool list from %s\n", dir)
	default:
		writef(e.stdout, "Removed %d cached tool lists from %s\n", n, dir)
	}
	return nil
}

// toolCacheDir is the tool cache's folder (toolcache.Dir, under
// os.UserCacheDir) unless a test replaces it.
func (e *env) toolCacheDir() (string, error) {
	if e.userCacheDir != nil {
		return e.userCacheDir()
	}
	return toolcache.Dir()
}

// toolCache returns serve's tool cache for p, or nil when p turns it off or
// there is no user cache directory.
func (e *env) toolCache(p *profile.Profile) *toolcache.Cache {
	if !p.Cache {
		return nil
	}
	dir, err := e.toolCacheDir()
	if err != nil {
		return nil
	}
	return toolcache.New(dir)
}

// An identifier is an auth method that can say who the proxy is to the
// Gateway without a network call (an IAM method: the ARN, or an id derived
// from the access key): the tool cache's identity. A method that is not
// one gets cacheIdentity's default.
type identifier interface {
	identity(p *profile.Profile, getenv func(string) string) string
}

// cacheIdentity is the inbound identity in the tool cache's key: a list is
// served only to the identity it was listed for. For the OAuth methods, the
// app client ID at its issuer (token or discovery URL): client_credentials
// is that client; for authorization_code the user's subject would need a
// token (only a refresh token is stored, opaque), so a user who logs in as
// another with the same app client gets the other's cached list at the
// first tools/list, replaced (with tools/list_changed) once the Gateway
// answers. Not a secret: it is hashed into the key.
func cacheIdentity(p *profile.Profile, getenv func(string) string) string {
	m := methodOf(p)
	if id, ok := m.(identifier); ok {
		return m.name() + ":" + id.identity(p, getenv)
	}
	issuer := p.Auth.TokenURL
	if issuer == "" {
		issuer = p.Auth.DiscoveryURL
	}
	return m.name() + ":" + p.Auth.ClientID + "@" + issuer
}

// toolCacheKey is the tool cache's key of serve with p.
func toolCacheKey(p *profile.Profile, getenv func(string) string) toolcache.Key {
	return proxy.ToolCacheKey(proxy.Options{GatewayURL: p.GatewayURL, Rules: proxyRules(p), Profile: p.Name, Identity: cacheIdentity(p, getenv)})
}

// cache prints status's line on the profile's cached tool list.
func (st *status) cache() {
	p, w := st.p, st.w
	switch {
	case !p.Cache:
		writef(w, "Tools:    not cached (cache off, from %s)\n", p.Origin("cache"))
		return
	case p.GatewayURL == "":
		return
	}
	dir, err := st.e.toolCacheDir()
	if err != nil {
		writef(w, "Tools:    not cached (no user cache directory)\n")
		return
	}
	e, err := toolcache.New(dir).Entry(toolCacheKey(p, st.e.getenv))
	if err != nil {
		if _, serr := os.Stat(dir); serr != nil {
			writef(w, "Tools:    no cached list yet\n")
		} else {
			writef(w, "Tools:    no cached list yet (in %s)\n", dir)
		}
		return
	}
	writef(w, "Tools:    %d cached %s ago (in %s)\n", e.Tools, max(0, time.Since(e.Written)).Round(time.Second), dir)
}
