package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/httpguard"
	"github.com/agw-proxy/agw-proxy/oauth"
	"github.com/agw-proxy/agw-proxy/proxy"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// Profile mode (-cpuprofile DIR). The serve command has no profiling hook,
// so this mode runs the proxy package in-process, wired the way
// cmd/agw-proxy's serve wires it (client-credentials oauth.TokenCache over the
// same tuned HTTP client, env secrets, one scrubber), and talks to it over
// pipes with the go-sdk client. Every goroutine carries a pprof label
// side=proxy, side=client or side=emulator (labels pass to the goroutines a
// goroutine starts), so that one profile can be split:
//
//	go tool pprof -tagfocus=side=proxy -top DIR/calls.pprof
//
// It writes calls.pprof (calls at -inflight for -duration), calls.allocs
// (allocations over the same run) and tools.pprof (-lists first tools/list
// of -tools tools, each by a fresh proxy). The proxy speaks the first of
// -protocols with the Gateway, and its client clientVersion.

func profile(ctx context.Context, c config, log io.Writer) error {
	if err := os.MkdirAll(c.cpuprofile, 0o755); err != nil {
		return err
	}
	var (
		sim, big *gatewaysim.Sim
		err      error
	)
	pprof.Do(ctx, pprof.Labels("side", "emulator"), func(context.Context) {
		if sim, err = gatewaysim.Start(gatewaysim.Options{}); err != nil {
			return
		}
		big, err = startBigSim(c)
	})
	if err != nil {
		return err
	}
	defer sim.Close()
	defer big.Close()
	if err := checkLoopback(sim.GatewayURL, sim.TokenURL, big.GatewayURL, big.TokenURL); err != nil {
		return err
	}

	version := c.protocols[0]
	logf(log, "the proxy speaks MCP %s with the Gateway, %s with its client", version, clientVersion)

	// Calls.
	cs, stop, err := inProcessProxy(ctx, sim, version)
	if err != nil {
		return err
	}
	p := callParams(false)
	for range c.warmup {
		if err := call(ctx, cs, p); err != nil {
			return err
		}
	}
	runtime.MemProfileRate = 64 << 10
	runtime.GC()
	var r Run
	err = cpuProfile(filepath.Join(c.cpuprofile, "calls.pprof"), func() error {
		var err error
		pprof.Do(ctx, pprof.Labels("side", "client"), func(ctx context.Context) {
			r, err = load(ctx, cs, p, c.inflight, c.duration, nil)
		})
		return err
	})
	if err != nil {
		return err
	}
	if err := writeProfile(filepath.Join(c.cpuprofile, "calls.allocs"), "allocs"); err != nil {
		return err
	}
	stop()
	logf(log, "calls: %d in %.1fs (%.0f/s), p50 %s, with %d in flight", r.Calls, r.Seconds, r.PerSecond, dur(r.Latency.Median), c.inflight)

	// First tools/list of many tools, each by a fresh proxy.
	var lists []time.Duration
	err = cpuProfile(filepath.Join(c.cpuprofile, "tools.pprof"), func() error {
		for range c.lists {
			t0 := time.Now()
			cs, stop, err := inProcessProxy(ctx, big, version)
			if err != nil {
				return err
			}
			var res *mcp.ListToolsResult
			pprof.Do(ctx, pprof.Labels("side", "client"), func(ctx context.Context) {
				res, err = cs.ListTools(ctx, nil)
			})
			lists = append(lists, time.Since(t0))
			stop()
			if err != nil {
				return err
			}
			if err := checkStripped(res.Tools, c.tools); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	logf(log, "first tools/list of %d tools (in-process, no process start): median %s", c.tools, dur(summarize(lists).Median))
	logf(log, "profiles in %s; e.g. go tool pprof -tagfocus=side=proxy -top %s", c.cpuprofile, filepath.Join(c.cpuprofile, "calls.pprof"))
	return nil
}

// inProcessProxy starts a proxy for sim in this process, labelled
// side=proxy and pinned to MCP version with the Gateway, and connects a
// go-sdk client to it over pipes. stop ends both.
func inProcessProxy(ctx context.Context, sim *gatewaysim.Sim, version string) (*mcp.ClientSession, func(), error) {
	scrub := proxy.NewScrubber()
	scrub.Add(tokenstore.Secret(sim.ClientSecret))
	env := map[string]string{
		tokenstore.EnvVar(tokenstore.ClientSecretName): sim.ClientSecret,
		tokenstore.EnvVar("asana"):                     asanaToken,
	}
	secrets := &tokenstore.Env{Base: tokenstore.NewMemory(), Getenv: func(k string) string { return env[k] }}
	hc := proxy.DefaultHTTPClient()
	if t, ok := httpguard.Base(hc).(*http.Transport); ok {
		t.Proxy = nil // loopback only
	}
	ga := oauth.NewClientCredentials(oauth.Config{
		TokenURL: sim.TokenURL, ClientID: sim.ClientID, Scopes: []string{sim.Scope},
		Secrets: secrets, HTTPClient: hc,
	})
	ga.OnToken = scrub.Add
	px, err := proxy.New(proxy.Options{
		GatewayURL:   sim.GatewayURL,
		HTTPClient:   hc,
		OAuthHandler: ga,
		Rules:        []proxy.Rule{{Argument: "X-Asana-Token", Secret: "asana", Tools: []string{injectGlob}}},
		Secrets:      envSecrets{secrets},
		Scrubber:     scrub,
		Protocol:     version,
	})
	if err != nil {
		return nil, nil, err
	}
	inR, inW := io.Pipe()   // client -> proxy
	outR, outW := io.Pipe() // proxy -> client
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	pprof.Do(ctx, pprof.Labels("side", "proxy"), func(ctx context.Context) {
		go func() {
			defer close(done)
			px.Run(ctx, inR, outW)
			outW.Close()
		}()
	})
	var cs *mcp.ClientSession
	pprof.Do(ctx, pprof.Labels("side", "client"), func(ctx context.Context) {
		cs, err = connect(ctx, &mcp.IOTransport{Reader: outR, Writer: inW}, clientVersion)
	})
	stop := func() {
		if cs != nil {
			cs.Close()
		}
		inW.Close()
		cancel()
		<-done
		hc.CloseIdleConnections()
	}
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("connect to the in-process proxy: %w", err)
	}
	return cs, stop, nil
}

// envSecrets is the proxy's SecretSource over tokenstore secrets for the
// default profile, as cmd/agw-proxy binds them.
type envSecrets struct{ s tokenstore.Secrets }

func (e envSecrets) Secret(ctx context.Context, name string) (tokenstore.Secret, error) {
	return e.s.Get(ctx, "default", name)
}

func cpuProfile(path string, f func() error) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	if err := pprof.StartCPUProfile(out); err != nil {
		return err
	}
	err = f()
	pprof.StopCPUProfile()
	return err
}

func writeProfile(path, name string) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	return pprof.Lookup(name).WriteTo(out, 0)
}
