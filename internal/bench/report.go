package main

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
)

// printTable writes the human-readable report: a table per revision
// spoken with the Gateway, the first tools/list of each side by side, and
// the targets in each.
func printTable(w io.Writer, r *Report) {
	fmt.Fprintf(w, "agw-proxy benchmark  %s  %s  %d CPUs%s\n", r.Time, r.GoVersion, r.CPUs, map[bool]string{true: "  (quick: one iteration each, not a measurement)"}[r.Quick])
	fmt.Fprintf(w, "The benchmark's client speaks MCP %s to agw-proxy over stdio, as a desktop client does (go-sdk; the cold starts initialize with %s).\n",
		r.ClientProtocol, r.ColdStartProtocol)
	fmt.Fprintf(w, "The floor relay (internal/bench/floorrelay) answers initialize itself and relays every other line, one POST each with a token fetched before it starts, to the stateless JSON Gateway.\n")
	fmt.Fprintf(w, "In each table the floor speaks the same upstream revision as the proxy: in %s it relays its client's lines as they are, in %s it adds only the _meta and headers that revision requires (the _meta with the capabilities and clientInfo its client initialized with, as the direct client sends them); its overheads are over a direct client speaking that revision too.\n",
		sessionVersion, statelessVersion)
	for _, rev := range r.Revisions {
		fmt.Fprintf(w, "\nWith the Gateway, agw-proxy (--protocol %s), the floor and the direct client speak MCP %s:\n", rev.Protocol, rev.Protocol)
		printRevision(w, rev, floorOf(rev), r.Repeats)
	}

	fmt.Fprintln(w, "\nfirst tools/list, by the revision spoken with the Gateway:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	first := r.Revisions[0]
	fmt.Fprintf(tw, "  revision\ttools\tn\tdirect min / median / p99\tproxy min / median / p99\tproxy vs direct\tproxy vs %s\n", first.Protocol)
	// base is the first revision's proxy on the same list.
	firstList := func(rev *Revision, tools int, d, p, base Dist) {
		vs := "-"
		if rev != first {
			vs = fmt.Sprintf("%.2fx", ratio(p.Median, base.Median))
		}
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\t%s\t%s\t%s\n", rev.Protocol, tools, p.N, distOrDash(d), distOrDash(p), listCmp(d, p), vs)
	}
	for _, rev := range r.Revisions {
		firstList(rev, rev.ToolsInStart, rev.DirectColdList, rev.StartToolsList, first.StartToolsList)
	}
	for _, rev := range r.Revisions {
		firstList(rev, rev.BigTools, rev.BigListDirect, rev.BigListProxy, first.BigListProxy)
	}
	tw.Flush()

	printLatency(w, r)

	fmt.Fprintln(w, "\ntargets (issue 6):")
	printTargets(w, r.Revisions, func(rev *Revision) []Target { return rev.Targets })
	fmt.Fprintln(w, "\ntargets against the floor (issue 17), same run:")
	printTargets(w, r.Revisions, func(rev *Revision) []Target { return rev.FloorTargets })
}

// printTargets writes one target table, a column per revision.
func printTargets(w io.Writer, revs []*Revision, of func(*Revision) []Target) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "  metric\ttarget")
	for _, rev := range revs {
		fmt.Fprintf(tw, "\t%s", rev.Protocol)
	}
	fmt.Fprintln(tw)
	for i, g := range of(revs[0]) {
		fmt.Fprintf(tw, "  %s\t%s %s", g.Metric, g.Op, num(g.Limit, g.Unit))
		for _, rev := range revs {
			t := of(rev)[i]
			var state string
			switch {
			case t.NotRun:
				state = "not run (-only)"
			case t.Undefined:
				state = "n/a: the floor's figure is not positive"
			case t.Holds:
				state = num(t.Value, t.Unit) + " holds"
			default:
				state = num(t.Value, t.Unit) + " MISSED"
			}
			if t.Detail != "" && !t.NotRun {
				state += " (" + t.Detail + ")"
			}
			fmt.Fprintf(tw, "\t%s", state)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// floorOf is rev's floor, or an empty one.
func floorOf(rev *Revision) *Floor {
	if rev.Floor == nil {
		return &Floor{Protocol: rev.Protocol}
	}
	return rev.Floor
}

// printLatency writes the realistic-latency phase: the first tools/list of
// each side behind the delayed Gateway, each against the floor of its
// revision.
func printLatency(w io.Writer, r *Report) {
	first := r.Revisions[0]
	if floorOf(first).LatencyList.N == 0 {
		return
	}
	fmt.Fprintf(w, "\nfirst tools/list of %d tools, %d per page, the Gateway %.0f ms away (added to every request; Cognito not delayed):\n",
		first.Latency.Tools, gatewaysim.DefaultPageSize, r.DelayMS)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  side\trevision\tn\tmin / median / p99\tvs direct\tvs the floor")
	rowVs := func(side, rev string, d, direct, floor Dist) {
		vs := "-"
		if direct.N > 0 {
			vs = listCmp(direct, d)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t%.2fx\n", side, rev, d.N, distOrDash(d), vs, ratio(d.Median, floor.Median))
	}
	for _, rev := range r.Revisions {
		l, f := rev.Latency, floorOf(rev)
		row := func(side string, d, direct Dist) { rowVs(side, rev.Protocol, d, direct, f.LatencyList) }
		row("direct (follows the cursors)", l.Direct, Dist{})
		row("agw-proxy cold", l.Cold, l.Direct)
		row("agw-proxy warm (same cache dir)", l.Warm, l.Direct)
		row("floor relay (client follows the cursors)", f.LatencyList, Dist{})
	}
	for _, rev := range r.Revisions {
		f := floorOf(rev)
		rowVs("agw-proxy warm, raw reader", rev.Protocol, rev.Latency.WarmLine, Dist{}, f.CannedList)
		rowVs("floor relay, the list canned, raw reader", rev.Protocol, f.CannedList, Dist{}, f.CannedList)
	}
	tw.Flush()
	fmt.Fprintln(w, "  The go-sdk rows include the client's decode of every tool. The raw-reader rows time process start ->")
	fmt.Fprintln(w, "  the tools/list answer's line complete, decoding nothing, for agw-proxy warm and for the floor answering")
	fmt.Fprintln(w, "  the same list from a file (a copy of agw-proxy's answer): the warm-cache target compares those two, since")
	fmt.Fprintln(w, "  the client's decode is the same behind any proxy and the floor's start -> initialize carries no list.")
}

// printRevision writes one revision's table and notes, with the floor f
// beside the proxy.
func printRevision(w io.Writer, r *Revision, f *Floor, repeats int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  metric\tn\tdirect min / median / p99\tproxy min / median / p99\tfloor min / median / p99\tproxy vs direct\tproxy vs floor")
	row := func(name string, d, p, fl Dist, cmp, vsFloor string) {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t%s\t%s\n", name, p.N, distOrDash(d), distOrDash(p), distOrDash(fl), cmp, vsFloor)
	}
	x := func(a, b float64) string {
		if b <= 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2fx", a/b)
	}
	row("start -> initialize", Dist{}, r.StartInitialize, f.StartInitialize, "", x(r.StartInitialize.Median, f.StartInitialize.Median))
	row(fmt.Sprintf("start -> first tools/list (%d tool)", r.ToolsInStart), r.DirectColdList, r.StartToolsList, f.StartToolsList,
		listCmp(r.DirectColdList, r.StartToolsList), x(r.StartToolsList.Median, f.StartToolsList.Median)+" (the floor fetches no token)")
	row("tools/call, sequential", r.CallDirect, r.CallProxy, f.CallFloor, fmt.Sprintf("%+.0f µs p50 (%.2fx)", r.CallOverheadP50, ratio(r.CallProxy.Median, r.CallDirect.Median)),
		fmt.Sprintf("overhead %+.0f vs %+.0f µs: %s", r.CallOverheadP50, f.CallOverheadP50, x(r.CallOverheadP50, f.CallOverheadP50)))
	t, ft := r.Throughput, f.Throughput
	row(fmt.Sprintf("tools/call, %d in flight", t.InFlight), t.Direct.Latency, t.Proxy.Latency, ft.Proxy.Latency, "",
		fmt.Sprintf("CPU/call %.0f vs %.0f µs: %s", t.ProxyCPU, ft.ProxyCPU, x(t.ProxyCPU, ft.ProxyCPU)))
	row(fmt.Sprintf("first tools/list, %d tools", r.BigTools), r.BigListDirect, r.BigListProxy, f.BigListFloor, listCmp(r.BigListDirect, r.BigListProxy),
		fmt.Sprintf("over direct %+.1f vs %+.1f ms (runs' medians): %+.1f ms", r.BigListOverheads.Median/1e3, f.BigListOverheads.Median/1e3, (r.BigListOverheads.Median-f.BigListOverheads.Median)/1e3))
	tw.Flush()
	fmt.Fprintf(w, "  sequential overhead over direct (p50 of each of %d repeats): proxy %s, floor %s\n", repeats, spreadUS(r.CallOverheads), spreadUS(f.CallOverheads))
	fmt.Fprintf(w, "  first tools/list of %d tools over direct (each of %d runs): proxy %s, floor %s\n", r.BigTools, r.BigListOverheads.N, spreadMS(r.BigListOverheads), spreadMS(f.BigListOverheads))
	fmt.Fprintf(w, "  throughput, %d in flight: direct %.0f calls/s, proxy %.0f calls/s (%.2fx); TCP connections opened to the Gateway during the run: direct %d, proxy %d (proxy lifetime %d)\n",
		t.InFlight, t.Direct.PerSecond, t.Proxy.PerSecond, t.Ratio, t.Direct.Conns, t.Proxy.Conns, t.ProxyConnsUp)
	fmt.Fprintf(w, "  proxy CPU per call: %.0f µs at %d in flight, %.0f µs sequential (utime+stime from /proc, 10 ms ticks)\n", t.ProxyCPU, t.InFlight, r.SeqProxyCPU)
	fmt.Fprintf(w, "  proxy CPU from start to the first tools/list of %d tools: median %.0f ms\n", r.BigTools, r.BigListProxyCPU.Median/1e3)
	fmt.Fprintf(w, "  proxy RSS: %.1f MiB after warm-up, %.1f MiB after the throughput run\n", float64(r.RSSWarmKiB)/1024, float64(r.RSSAfterKiB)/1024)
}

// spreadUS and spreadMS print a Spread of µs: median, p25-p75, min-max.
func spreadUS(s Spread) string {
	if s.N == 0 {
		return "-"
	}
	return fmt.Sprintf("median %+.0f µs (p25-p75 %+.0f..%+.0f, min-max %+.0f..%+.0f)", s.Median, s.P25, s.P75, s.Min, s.Max)
}

func spreadMS(s Spread) string {
	if s.N == 0 {
		return "-"
	}
	return fmt.Sprintf("median %+.1f ms (p25-p75 %+.1f..%+.1f, min-max %+.1f..%+.1f)", s.Median/1e3, s.P25/1e3, s.P75/1e3, s.Min/1e3, s.Max/1e3)
}

// listCmp compares the proxy's first tools/list p with the direct one d:
// the difference of the medians and their ratio.
func listCmp(d, p Dist) string {
	diff := (p.Median - d.Median) / 1e3
	if math.Abs(diff) < 10 {
		return fmt.Sprintf("%+.2f ms p50 (%.2fx)", diff, ratio(p.Median, d.Median))
	}
	return fmt.Sprintf("%+.1f ms p50 (%.2fx)", diff, ratio(p.Median, d.Median))
}

// distOrDash is dist, or "-" for a phase that did not run.
func distOrDash(d Dist) string {
	if d.N == 0 {
		return "-"
	}
	return dist(d)
}

func dist(d Dist) string {
	return fmt.Sprintf("%s / %s / %s", dur(d.Min), dur(d.Median), dur(d.P99))
}

// dur prints µs as µs below 10 ms, else ms.
func dur(us float64) string {
	if us < 10_000 {
		return fmt.Sprintf("%.0f µs", us)
	}
	return fmt.Sprintf("%.1f ms", us/1e3)
}

func num(v float64, unit string) string {
	switch unit {
	case "x":
		return fmt.Sprintf("%.2fx", v)
	case "conns":
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
