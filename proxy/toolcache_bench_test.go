package proxy_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/configs"
	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/toolcache"
	"github.com/agw-proxy/agw-proxy/oauth"
	"github.com/agw-proxy/agw-proxy/proxy"
	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/agw-proxy/agw-proxy/tokenstore/tokenstoretest"
)

// BenchmarkFirstToolsList is a client's first tools/list after the
// proxy starts (initialize, then tools/list, on stdio), against the
// emulator with 1,000 tools in pages of 30 behind a round trip of rtt:
// cold (no cache) and warm (the list cached by an earlier run).
//
//	go test -run '^$' -bench FirstToolsList -benchtime 5x ./proxy/
func BenchmarkFirstToolsList(b *testing.B) {
	for _, rtt := range []time.Duration{0, 20 * time.Millisecond} {
		for _, warm := range []bool{false, true} {
			name := fmt.Sprintf("rtt=%s/cold", rtt)
			if warm {
				name = fmt.Sprintf("rtt=%s/warm", rtt)
			}
			b.Run(name, func(b *testing.B) { benchFirstList(b, rtt, warm) })
		}
	}
}

func benchFirstList(b *testing.B, rtt time.Duration, warm bool) {
	sim := gatewaysim.StartForTest(b, gatewaysim.Options{Targets: []gatewaysim.Target{
		{Name: gatewaysim.DefaultTargetName, Spec: configs.AsanaOpenAPI, APIKey: gatewaysim.DefaultAPIKey},
		{Name: "Many", Spec: opsSpec(999)},
	}})
	u, _ := url.Parse(sim.GatewayURL)
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	rp.FlushInterval = -1
	far := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(rtt)
		rp.ServeHTTP(w, r)
	}))
	b.Cleanup(far.Close)
	secrets := tokenstoretest.NewFake()
	secrets.Set(b.Context(), "default", "asana", asanaToken)
	secrets.Set(b.Context(), "default", tokenstore.ClientSecretName, tokenstore.Secret(sim.ClientSecret))
	dir := b.TempDir()
	run := func(cache bool) time.Duration {
		o := proxy.Options{
			GatewayURL: far.URL + u.Path,
			Rules:      []proxy.Rule{asanaRule},
			Secrets:    secretSource{secrets},
			OAuthHandler: oauth.NewClientCredentials(oauth.Config{
				TokenURL: sim.TokenURL, ClientID: sim.ClientID, Scopes: []string{sim.Scope}, Secrets: secrets,
			}),
		}
		if cache {
			o.ToolCache, o.Profile, o.Identity = toolcache.New(dir), "default", "bench"
		}
		p, err := proxy.New(o)
		if err != nil {
			b.Fatal(err)
		}
		inR, inW := io.Pipe()
		outR, outW := io.Pipe()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		began := time.Now()
		go func() { _ = p.Run(ctx, inR, outW); close(done) }()
		lines := bufio.NewReaderSize(outR, 1<<20)
		fmt.Fprintln(inW, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`)
		if _, err := lines.ReadString('\n'); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintln(inW, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
		fmt.Fprintln(inW, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
		for {
			line, err := lines.ReadString('\n')
			if err != nil {
				b.Fatal(err)
			}
			if strings.HasPrefix(line, `{"jsonrpc":"2.0","id":2,`) {
				if !strings.Contains(line, "Many___op998") {
					b.Fatal("the list is incomplete")
				}
				break
			}
		}
		took := time.Since(began)
		if cache {
			// The entry is written once the Gateway's list is in.
			deadline := time.Now().Add(30 * time.Second)
			for {
				if e, ok := o.ToolCache.Load(proxy.ToolCacheKey(o)); ok && e.Tools == 1000 {
					break
				}
				if time.Now().After(deadline) {
					b.Fatal("no cache entry")
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		inW.Close()
		go io.Copy(io.Discard, outR)
		<-done
		cancel()
		outR.Close()
		return took
	}
	if warm {
		run(true) // the earlier run that cached the list
	}
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		total += run(warm)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms/first-list")
}
