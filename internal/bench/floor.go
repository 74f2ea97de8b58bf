package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
)

// The floor is internal/bench/floorrelay: a bare relay that answers
// initialize itself and sends every other line as one POST with a static
// bearer token, parsing nothing beyond the id, stripping, injecting and
// scrubbing nothing. What any stdio proxy in Go must pay; every figure of
// agw-proxy is also given as a ratio to it, measured in the same run.
//
// It speaks with the Gateway the revision of the table it is in, as
// agw-proxy does there. In 2025-11-25 it relays its client's lines as they
// are (clientVersion; the cold starts coldStartVersion): the emulator's
// default, no sessions, JSON answers, as in issue 17's harness. In
// 2026-07-28 (AGW_FLOOR_PROTOCOL) it adds to each line only what that
// revision requires: its _meta, spliced in, and the MCP-Protocol-Version,
// Mcp-Method and Mcp-Name headers; no server/discover. Otherwise the
// emulator's heavier 2026 handling, on the same cores, would weigh on
// agw-proxy alone. The _meta carries the capabilities and clientInfo its
// client initialized with, which the direct client sends on every request:
// the emulator (go-sdk) decodes each _meta value of every request again,
// and the bare minimum (empty capabilities, no clientInfo) cost it 10-14 µs
// less per call than the direct client's or agw-proxy's _meta, a saving
// the floor's overhead over direct was credited with. Its "over direct" is against a direct client speaking
// the same revision. It is handed its token before it starts (fetched from
// the emulator's Cognito): it never fetches one.
type Floor struct {
	Protocol string `json:"protocol"` // what it speaks with the Gateway

	StartInitialize Dist `json:"start_initialize"`
	StartToolsList  Dist `json:"start_tools_list"` // no token fetch in it

	CallDirect      Dist    `json:"call_direct"`
	CallFloor       Dist    `json:"call_floor"`
	CallOverheadP50 float64 `json:"call_overhead_p50_us"` // median over the repeats
	CallOverheads   Spread  `json:"call_overhead_repeats"`

	Throughput Throughput `json:"throughput"` // Proxy is the floor

	BigListDirect    Dist    `json:"big_list_direct"`
	BigListFloor     Dist    `json:"big_list_floor"`
	BigListOverhead  float64 `json:"big_list_overhead_us"`
	BigListOverheads Spread  `json:"big_list_overhead_runs"`

	// LatencyList is the first tools/list behind the delayed Gateway, the
	// client following the cursors through the floor.
	LatencyList Dist `json:"latency_list"`
	// CannedList is the floor answering tools/list from a file holding
	// agw-proxy's answer (AGW_FLOOR_TOOLS), timed as LatencyLists.WarmLine.
	CannedList Dist `json:"canned_list"`
}

// Spread summarises one figure over repeated runs, in µs (nearest rank).
type Spread struct {
	N      int     `json:"n"`
	Min    float64 `json:"min"`
	P25    float64 `json:"p25"`
	Median float64 `json:"median"`
	P75    float64 `json:"p75"`
	Max    float64 `json:"max"`
}

func spread(v []float64) Spread {
	if len(v) == 0 {
		return Spread{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return Spread{N: len(s), Min: s[0], P25: rank(0.25), Median: rank(0.5), P75: rank(0.75), Max: s[len(s)-1]}
}

// newFloorCmd returns the floor relay's command line for the Gateway at
// gatewayURL with the bearer token tok (in its environment, never argv),
// speaking version with it.
func newFloorCmd(c config, home, gatewayURL, tok, version string) *proxyCmd {
	return &proxyCmd{
		bin:  c.floorBin,
		args: []string{gatewayURL},
		env: []string{
			"PATH=" + os.Getenv("PATH"),
			"HOME=" + home,
			"AGW_FLOOR_TOKEN=" + tok,
			"AGW_FLOOR_PROTOCOL=" + version,
			"NO_PROXY=127.0.0.1,localhost",
		},
	}
}

// floorToken fetches the floor's static token from the emulator's Cognito
// (client credentials), as a real deployment's would be.
func floorToken(ctx context.Context, sim *gatewaysim.Sim) (string, error) {
	tr := tunedTransport()
	defer tr.CloseIdleConnections()
	cc := clientcredentials.Config{ClientID: sim.ClientID, ClientSecret: sim.ClientSecret, TokenURL: sim.TokenURL, Scopes: []string{sim.Scope}}
	tok, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: tr}))
	if err != nil {
		return "", fmt.Errorf("floor token: %w", err)
	}
	return tok.AccessToken, nil
}

// floorTargets checks issue 17's targets for agw-proxy against the floor
// measured in the same run; ran holds the phases that were run. A target
// whose floor figure is not positive (a floor no slower than direct) has no
// ratio and reads n/a.
func floorTargets(r *Revision, f *Floor, ran map[string]bool) []Target {
	ms := func(us float64) float64 { return us / 1e3 }
	t := []Target{
		{
			Metric: "start -> initialize vs the floor", Limit: 1.2, Unit: "x", Op: "<=", phases: []string{"starts"},
			Value: ratio(r.StartInitialize.Median, f.StartInitialize.Median), base: f.StartInitialize.Median,
			Detail: fmt.Sprintf("%s vs %s", dur(r.StartInitialize.Median), dur(f.StartInitialize.Median)),
		},
		{
			Metric: "proxy CPU per call at 64 in flight vs the floor", Limit: 1.2, Unit: "x", Op: "<=", phases: []string{"throughput"},
			Value: ratio(r.Throughput.ProxyCPU, f.Throughput.ProxyCPU), base: f.Throughput.ProxyCPU,
			Detail: fmt.Sprintf("%.0f µs vs %.0f µs", r.Throughput.ProxyCPU, f.Throughput.ProxyCPU),
		},
		{
			Metric: "sequential tools/call overhead vs the floor's", Limit: 1.1, Unit: "x", Op: "<=", phases: []string{"calls"},
			Value: ratio(r.CallOverheadP50, f.CallOverheadP50), base: f.CallOverheadP50,
			Detail: fmt.Sprintf("%+.0f µs vs %+.0f µs", r.CallOverheadP50, f.CallOverheadP50),
		},
		{
			// The medians of the runs' paired overheads, each against the
			// direct list just before it: steadier than a difference of
			// medians on a shared machine.
			Metric: "1,000-tool first tools/list over direct, minus the floor's", Limit: 10, Unit: "ms", Op: "<=", phases: []string{"tools"},
			Value: ms(r.BigListOverheads.Median - f.BigListOverheads.Median), base: 1,
			Detail: fmt.Sprintf("%+.1f ms vs %+.1f ms, median of the runs", ms(r.BigListOverheads.Median), ms(f.BigListOverheads.Median)),
		},
		{
			// Raw line reader on both sides, the floor answering the same
			// list from a file: see rawlist.go for why.
			Metric: "warm-cache first tools/list (delayed) vs the floor answering it canned", Limit: 1.2, Unit: "x", Op: "<=", phases: []string{"latency"},
			Value: ratio(r.Latency.WarmLine.Median, f.CannedList.Median), base: f.CannedList.Median,
			Detail: fmt.Sprintf("%s vs %s, start -> answer line, raw reader", dur(r.Latency.WarmLine.Median), dur(f.CannedList.Median)),
		},
	}
	check(t, ran)
	return t
}
