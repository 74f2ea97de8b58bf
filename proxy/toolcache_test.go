package proxy_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/internal/toolcache"
	"github.com/agw-proxy/agw-proxy/proxy"
)

// gatedGateway stands in front of a Gateway and holds every request while
// it is shut: a proxy whose answer needs the Gateway cannot answer then. It
// counts the requests it let through.
type gatedGateway struct {
	URL string

	mu       sync.Mutex
	gate     chan struct{} // nil: open; else closed when opened
	answered atomic.Int64  // requests passed to the Gateway
}

func newGatedGateway(t *testing.T, target string) *gatedGateway {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	rp.FlushInterval = -1 // event streams as they come
	g := &gatedGateway{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		gate := g.gate
		g.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		g.answered.Add(1)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(g.open) // before the server closes: nothing stays held
	g.URL = srv.URL + u.Path
	return g
}

// shut holds the requests that come from now on.
func (g *gatedGateway) shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gate == nil {
		g.gate = make(chan struct{})
	}
}

// open lets the held requests, and all that follow, through.
func (g *gatedGateway) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gate != nil {
		close(g.gate)
		g.gate = nil
	}
}

func (g *gatedGateway) at(*gatewaysim.Sim) string { return g.URL }

// withCache gives the proxy the tool cache in dir, for the default profile
// and identity.
func withCache(dir, identity string, more ...func(*proxy.Options)) func(*proxy.Options) {
	return func(o *proxy.Options) {
		o.ToolCache = toolcache.New(dir)
		o.Profile = "default"
		o.Identity = identity
		for _, f := range more {
			f(o)
		}
	}
}

// cacheKey is the key a proxy with the harness's options and opt has.
func cacheKey(gatewayURL string, opt func(*proxy.Options)) toolcache.Key {
	o := proxy.Options{GatewayURL: gatewayURL, Rules: []proxy.Rule{asanaRule}}
	opt(&o)
	return proxy.ToolCacheKey(o)
}

// awaitEntry waits until the cache holds an entry for k that ok accepts.
func awaitEntry(t *testing.T, c *toolcache.Cache, k toolcache.Key, what string, ok func(toolcache.Entry) bool) toolcache.Entry {
	t.Helper()
	deadline := time.Now().Add(testwait.Limit)
	for {
		if e, found := c.Load(k); found && ok(e) {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no such cache entry within %s", what, testwait.Limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func anyEntry(toolcache.Entry) bool { return true }

func toolNames(tools map[string]*mcp.Tool) []string {
	var out []string
	for n := range tools {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// listNames returns the names a tools/list result (as cached) lists.
func listNames(t *testing.T, list []byte) []string {
	t.Helper()
	var res struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(list, &res); err != nil {
		t.Fatalf("cached list: %v", err)
	}
	var out []string
	for _, tl := range res.Tools {
		out = append(out, tl.Name)
	}
	slices.Sort(out)
	return out
}

// listErr lists tools once and returns the error.
func listErr(h *harness) error {
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Limit)
	defer cancel()
	_, err := h.client.ListTools(ctx, nil)
	return err
}

// A second start answers the client's first tools/list from the list the
// first one cached, while the Gateway holds every request: no answer of
// the Gateway comes before it. Once the Gateway answers, calls work.
func TestWarmStartAnswersFromTheCacheBeforeTheGateway(t *testing.T) {
	dir := t.TempDir()
	var gw *gatedGateway
	opt := withCache(dir, "client_id:test")
	first := start(t, setup{gatewayFor: func(s *gatewaysim.Sim) string {
		gw = newGatedGateway(t, s.GatewayURL)
		return gw.URL
	}, options: opt})
	want := toolNames(first.tools(t))
	c := toolcache.New(dir)
	k := cacheKey(gw.URL, opt)
	if e := awaitEntry(t, c, k, "after the first start", anyEntry); e.Tools != len(want) {
		t.Fatalf("cached %d tools, the client got %d", e.Tools, len(want))
	}

	gw.shut()
	before := gw.answered.Load()
	second := start(t, setup{gatewayFor: func(*gatewaysim.Sim) string { return gw.URL }, options: opt, noAuth: true, oauth: first.auth})
	got := toolNames(second.tools(t))
	if n := gw.answered.Load() - before; n != 0 {
		t.Fatalf("%d requests reached the Gateway before the answer", n)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("warm list %v, want %v", got, want)
	}

	gw.open()
	// The second harness's emulator is not the Gateway: the first's
	// has the call.
	if res := second.call(t, asanaTool, map[string]any{"tool_name": "list_projects"}); res.IsError {
		t.Fatalf("call after the warm start: %v", res.Content)
	}
}

// A cached list that the Gateway's no longer matches: the client gets the
// cached one at once, then tools/list_changed (a 2026-07-28 client on its
// subscriptions/listen stream) and the Gateway's; the entry is rewritten; a
// call to the tool that is gone gets the Gateway's own answer, without a
// secret.
func TestCachedListIsRevalidatedWithListChanged(t *testing.T) {
	for _, tc := range []struct {
		name, protocol string
	}{
		{"2026-07-28 client", ""},
		{"2025-11-25 client", "2025-11-25"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			const gone = "AgentCoreGwyAPIGatewayTarget___gone"
			opt := withCache(dir, "client_id:test")
			c := toolcache.New(dir)
			var gw *gatedGateway
			h := start(t, setup{protocol: tc.protocol, options: opt, gatewayFor: func(s *gatewaysim.Sim) string {
				gw = newGatedGateway(t, s.GatewayURL)
				gw.shut()
				// What an earlier run cached: a tool the Gateway has
				// since removed.
				stale := `{"tools":[{"name":"` + gone + `","description":"removed since","inputSchema":{"type":"object"}}]}`
				if err := c.Store(cacheKey(gw.URL, opt), []byte(stale), 1); err != nil {
					t.Fatal(err)
				}
				return gw.URL
			}})
			k := cacheKey(gw.URL, opt)
			if got := toolNames(h.tools(t)); !slices.Equal(got, []string{gone}) {
				t.Fatalf("warm list %v, want the cached one", got)
			}
			gw.open()
			testwait.Await(t, h.changed, "tools/list_changed after the revalidation")
			live := toolNames(h.tools(t))
			if slices.Contains(live, gone) || !slices.Contains(live, asanaTool) {
				t.Fatalf("list after the change %v", live)
			}
			e := awaitEntry(t, c, k, "the rewritten entry", func(e toolcache.Entry) bool { return !strings.Contains(string(e.List), gone) })
			if got := listNames(t, e.List); !slices.Equal(got, live) {
				t.Errorf("entry lists %v, the client %v", got, live)
			}

			calls := h.sim.Counts().ToolCalls
			ctx := testwait.Context(t)
			_, err := h.client.CallTool(ctx, &mcp.CallToolParams{Name: gone, Arguments: map[string]any{"X-Asana-Token": "model's"}})
			var jerr *jsonrpc.Error
			if !errors.As(err, &jerr) || jerr.Code != jsonrpc.CodeInvalidParams || !strings.Contains(jerr.Message, `unknown tool "`+gone+`"`) {
				t.Fatalf("call of the removed tool: %v; want the Gateway's -32602 unknown tool", err)
			}
			if h.sim.Counts().ToolCalls != calls+1 {
				t.Errorf("the Gateway did not answer the call itself")
			}
		})
	}
}

// The entry is one key's: another identity, other rules, another profile
// do not get it (their first tools/list waits for the Gateway, here held
// until the connect timeout), the same key does.
func TestAnotherIdentityOrRuleSetMissesTheCache(t *testing.T) {
	dir := t.TempDir()
	base := withCache(dir, "client_id:alice")
	for _, tc := range []struct {
		name string
		opt  func(*proxy.Options)
		warm bool
	}{
		{"same key", base, true},
		{"another client ID", withCache(dir, "client_id:bob"), false},
		{"another profile", withCache(dir, "client_id:alice", func(o *proxy.Options) { o.Profile = "work" }), false},
		{"another tools glob", withCache(dir, "client_id:alice", func(o *proxy.Options) {
			o.Rules = []proxy.Rule{{Argument: asanaRule.Argument, Secret: asanaRule.Secret, Tools: []string{"*"}}}
		}), false},
		{"another argument", withCache(dir, "client_id:alice", func(o *proxy.Options) {
			o.Rules = []proxy.Rule{{Argument: "X-Other", Secret: asanaRule.Secret, Tools: asanaRule.Tools}}
		}), false},
		{"another format", withCache(dir, "client_id:alice", func(o *proxy.Options) {
			o.Rules = []proxy.Rule{{Argument: asanaRule.Argument, Secret: asanaRule.Secret, Tools: asanaRule.Tools, Format: "{secret}"}}
		}), false},
		{"via header", withCache(dir, "client_id:alice", func(o *proxy.Options) {
			o.Rules = []proxy.Rule{{Argument: asanaRule.Argument, Secret: asanaRule.Secret, Tools: asanaRule.Tools, Via: proxy.ViaHeader}}
		}), false},
		{"another secret", withCache(dir, "client_id:alice", func(o *proxy.Options) {
			o.Rules = []proxy.Rule{{Argument: asanaRule.Argument, Secret: "other", Tools: asanaRule.Tools}}
		}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gw *gatedGateway
			h := start(t, setup{connect: 300 * time.Millisecond, options: tc.opt, gatewayFor: func(s *gatewaysim.Sim) string {
				gw = newGatedGateway(t, s.GatewayURL)
				gw.shut()
				list := `{"tools":[{"name":"Cached___tool","inputSchema":{"type":"object"}}]}`
				if err := toolcache.New(dir).Store(cacheKey(gw.URL, base), []byte(list), 1); err != nil {
					t.Fatal(err)
				}
				return gw.URL
			}, prepare: func(h *harness) {
				// The rules' secrets exist, so that priming is quick.
				h.secrets.Set(t.Context(), "default", "other", asanaToken+"-other")
			}})
			err := listErr(h)
			if tc.warm && err != nil {
				t.Fatalf("same key: %v", err)
			}
			if !tc.warm && err == nil {
				t.Fatal("another key was answered from the cache")
			}
		})
	}
}

// A file at the key's place that is not its entry (another key's, another
// version's, cut short, not ours) is not served, is no error to the client,
// and is replaced by the Gateway's list.
func TestCorruptOrForeignCacheFileIsIgnoredAndReplaced(t *testing.T) {
	foreign := func(dir string, k toolcache.Key) []byte {
		other := k
		other.Identity = "client_id:someone-else"
		c := toolcache.New(filepath.Join(dir, "other"))
		if err := c.Store(other, []byte(`{"tools":[{"name":"Foreign___tool","inputSchema":{"type":"object"}}]}`), 1); err != nil {
			panic(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "other", "tools-*.list"))
		b, _ := os.ReadFile(files[0])
		return b
	}
	for name, content := range map[string]func(dir string, good []byte, k toolcache.Key) []byte{
		"another key's entry": func(dir string, _ []byte, k toolcache.Key) []byte { return foreign(dir, k) },
		"cut short":           func(_ string, good []byte, _ toolcache.Key) []byte { return good[:len(good)-10] },
		"another version": func(_ string, good []byte, _ toolcache.Key) []byte {
			return []byte(strings.Replace(string(good), `"version":2`, `"version":99`, 1))
		},
		"garbage": func(string, []byte, toolcache.Key) []byte { return []byte("\x00\xff not ours\n{") },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			opt := withCache(dir, "client_id:test")
			c := toolcache.New(dir)
			var gw *gatedGateway
			var k toolcache.Key
			h := start(t, setup{connect: 300 * time.Millisecond, options: opt, gatewayFor: func(s *gatewaysim.Sim) string {
				gw = newGatedGateway(t, s.GatewayURL)
				gw.shut()
				k = cacheKey(gw.URL, opt)
				if err := c.Store(k, []byte(`{"tools":[{"name":"Cached___tool","inputSchema":{"type":"object"}}]}`), 1); err != nil {
					t.Fatal(err)
				}
				files, _ := filepath.Glob(filepath.Join(dir, "tools-*.list"))
				good, err := os.ReadFile(files[0])
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(files[0], content(t.TempDir(), good, k), 0o600); err != nil {
					t.Fatal(err)
				}
				return gw.URL
			}})
			// Not served: the list waits for the Gateway, held here.
			if err := listErr(h); err == nil {
				t.Fatal("the file was served as the entry")
			}
			gw.open()
			e := awaitEntry(t, c, k, "the replaced entry", func(e toolcache.Entry) bool { return e.Tools > 1 })
			got := toolNames(h.tools(t))
			if want := listNames(t, e.List); !slices.Equal(got, want) || slices.Contains(got, "Foreign___tool") {
				t.Fatalf("client got %v, entry %v", got, want)
			}
		})
	}
}

// Several proxies of one key start at once on one cache folder: each is
// served, the entry they leave is whole and the Gateway's list, no
// temporary file stays, and the next start is warm.
func TestConcurrentProxiesShareTheCache(t *testing.T) {
	dir := t.TempDir()
	opt := withCache(dir, "client_id:test")
	var gw *gatedGateway
	first := start(t, setup{options: opt, gatewayFor: func(s *gatewaysim.Sim) string {
		gw = newGatedGateway(t, s.GatewayURL)
		return gw.URL
	}})
	hs := []*harness{first}
	for range 3 {
		// Each harness has an emulator: these use the first's, and its tokens.
		hs = append(hs, start(t, setup{options: opt, gatewayFor: func(*gatewaysim.Sim) string { return gw.URL }, noAuth: true, oauth: first.auth}))
	}
	var wg sync.WaitGroup
	lists := make([][]string, len(hs))
	for i, h := range hs {
		wg.Go(func() {
			ctx := testwait.Context(t)
			res, err := h.client.ListTools(ctx, nil)
			if err != nil {
				t.Error(err)
				return
			}
			for _, tl := range res.Tools {
				lists[i] = append(lists[i], tl.Name)
			}
			slices.Sort(lists[i])
		})
	}
	testwait.WaitAll(t, &wg, "the proxies' tools/list")
	c := toolcache.New(dir)
	k := cacheKey(gw.URL, opt)
	e := awaitEntry(t, c, k, "the shared entry", anyEntry)
	for i, l := range lists {
		if !slices.Equal(l, lists[0]) {
			t.Errorf("proxy %d listed %v, proxy 0 %v", i, l, lists[0])
		}
	}
	if got := listNames(t, e.List); !slices.Equal(got, lists[0]) {
		t.Errorf("entry %v, the proxies %v", got, lists[0])
	}
	gw.shut()
	warm := start(t, setup{options: opt, gatewayFor: func(*gatewaysim.Sim) string { return gw.URL }, noAuth: true, oauth: first.auth})
	if got := toolNames(warm.tools(t)); !slices.Equal(got, lists[0]) {
		t.Errorf("warm start after them listed %v", got)
	}
	gw.open()
	if tmp, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

// A Gateway whose tool list holds the injected secret and the client
// secret, raw and disguised (escapes, percent-encoding, nested JSON): the
// entry on disk holds neither, by any decoding the client could apply.
func TestLeakyGatewayListIsCachedScrubbed(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(17, 17))
	var gw *rawGateway
	var clientSecret string
	opt := withCache(dir, "client_id:test")
	h := start(t, setup{options: opt, gatewayFor: func(s *gatewaysim.Sim) string {
		clientSecret = s.ClientSecret
		var defs []string
		for i, secret := range []string{asanaToken, s.ClientSecret, asanaToken, s.ClientSecret, asanaToken} {
			desc := leakcheck.Disguise(r, secret)
			if i == 0 {
				desc = secret
			}
			defs = append(defs, `{"name":"AgentCoreGwyAPIGatewayTarget___leak`+string(rune('a'+i))+`","description":"says `+desc+`","inputSchema":{"type":"object","properties":{"X-Asana-Token":{"type":"string","description":"`+leakcheck.Disguise(r, secret)+`"},"q":{"type":"string","default":"`+desc+`"}}}}`)
		}
		gw = newRawGateway(t, list(defs...))
		return gw.URL
	}})
	if n := len(h.tools(t)); n != 5 {
		t.Fatalf("%d tools listed", n)
	}
	e := awaitEntry(t, toolcache.New(dir), cacheKey(gw.URL, opt), "the entry", anyEntry)
	if err := leakcheck.Message(e.List, asanaToken, clientSecret); err != nil {
		t.Errorf("entry: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "tools-*.list"))
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := leakcheck.Text(string(raw), asanaToken, clientSecret); err != nil {
		t.Errorf("file: %v", err)
	}
	if !strings.Contains(string(raw), "leaka") {
		t.Error("the file does not hold the list")
	}
}

// cacheScope: "private" (and none) is kept in the user's cache; a scope the
// proxy does not know is not, and the entry it had is removed.
func TestGatewayCacheScopeIsHonoured(t *testing.T) {
	for _, tc := range []struct {
		scope string
		kept  bool
	}{
		{`,"cacheScope":"private","ttlMs":0`, true},
		{`,"cacheScope":"public","ttlMs":60000`, true},
		{`,"cacheScope":"nobody"`, false},
	} {
		t.Run(tc.scope, func(t *testing.T) {
			dir := t.TempDir()
			opt := withCache(dir, "client_id:test")
			c := toolcache.New(dir)
			var gw *rawGateway
			h := start(t, setup{options: opt, gatewayFor: func(*gatewaysim.Sim) string {
				// The raw Gateway writes its tools after `"tools":`: the
				// hints follow the array.
				gw = newRawGateway(t, list(toolDef(rawTool, "X-Asana-Token"))+tc.scope)
				if err := c.Store(cacheKey(gw.URL, opt), []byte(`{"tools":[]}`), 0); err != nil {
					t.Fatal(err)
				}
				return gw.URL
			}})
			k := cacheKey(gw.URL, opt)
			h.tools(t)
			if tc.kept {
				awaitEntry(t, c, k, "the stored list", func(e toolcache.Entry) bool { return e.Tools == 1 })
				return
			}
			deadline := time.Now().Add(testwait.Limit)
			for {
				if _, ok := c.Load(k); !ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the entry of a list that may not be kept stayed")
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// A warm start whose secret reads at start stall (a keychain or vault that
// does not answer), with debug logging on: the cache's entry is read and
// logged meanwhile, and the client's other requests are answered; log
// records wait for the reads, the proxy's state does not.
func TestWarmStartWithStalledSecretsStillAnswers(t *testing.T) {
	dir := t.TempDir()
	opt := withCache(dir, "client_id:test")
	first := start(t, setup{options: opt})
	first.tools(t)
	awaitEntry(t, toolcache.New(dir), cacheKey(first.sim.GatewayURL, opt), "after the first start", anyEntry)

	second := start(t, setup{gatewayFor: func(*gatewaysim.Sim) string { return first.sim.GatewayURL }, noAuth: true, oauth: first.auth,
		options: withCache(dir, "client_id:test", func(o *proxy.Options) {
			o.Secrets = stalledSource{}
			o.SecretTimeout = 30 * time.Second // past the ping's bound below, so a stall shows
		})})
	for range 3 {
		testwait.Within(t, 10*time.Second, "a ping while the secrets' reads stall", func() {
			if err := second.client.Ping(testwait.Context(t), nil); err != nil {
				t.Errorf("ping: %v", err)
			}
		})
		time.Sleep(50 * time.Millisecond)
	}
}
