package main

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// printTable writes the human-readable report: a table per revision
// spoken with the Gateway, the first tools/list of each side by side, and
// the targets in each.
func printTable(w io.Writer, r *Report) {
	fmt.Fprintf(w, "agw-proxy benchmark  %s  %s  %d CPUs%s\n", r.Time, r.GoVersion, r.CPUs, map[bool]string{true: "  (quick: one iteration each, not a measurement)"}[r.Quick])
	fmt.Fprintf(w, "The benchmark's client speaks MCP %s to agw-proxy over stdio, as a desktop client does (go-sdk; the cold starts initialize with %s).\n",
		r.ClientProtocol, r.ColdStartProtocol)
	for _, rev := range r.Revisions {
		fmt.Fprintf(w, "\nWith the Gateway, agw-proxy (--protocol %s) and the direct client speak MCP %s:\n", rev.Protocol, rev.Protocol)
		printRevision(w, rev)
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

	fmt.Fprintln(w, "\ntargets (issue 6):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "  metric\ttarget")
	for _, rev := range r.Revisions {
		fmt.Fprintf(tw, "\t%s", rev.Protocol)
	}
	fmt.Fprintln(tw)
	for i, g := range first.Targets {
		op := "<"
		if g.Unit == "x" {
			op = ">="
		} else if g.Unit == "conns" {
			op = "<="
		}
		fmt.Fprintf(tw, "  %s\t%s %s", g.Metric, op, num(g.Limit, g.Unit))
		for _, rev := range r.Revisions {
			t := rev.Targets[i]
			if t.NotRun {
				fmt.Fprint(tw, "\tnot run (-only)")
				continue
			}
			state := "holds"
			if !t.Holds {
				state = "MISSED"
			}
			fmt.Fprintf(tw, "\t%s %s", num(t.Value, t.Unit), state)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// printRevision writes one revision's table and notes.
func printRevision(w io.Writer, r *Revision) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  metric\tn\tdirect min / median / p99\tproxy min / median / p99\tproxy vs direct")
	row := func(name string, d, p Dist, cmp string) {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\n", name, p.N, distOrDash(d), distOrDash(p), cmp)
	}
	row("start -> initialize", Dist{}, r.StartInitialize, "")
	row(fmt.Sprintf("start -> first tools/list (%d tool)", r.ToolsInStart), r.DirectColdList, r.StartToolsList, listCmp(r.DirectColdList, r.StartToolsList))
	row("tools/call, sequential", r.CallDirect, r.CallProxy, fmt.Sprintf("%+.0f µs p50 (%.2fx)", r.CallOverheadP50, ratio(r.CallProxy.Median, r.CallDirect.Median)))
	t := r.Throughput
	row(fmt.Sprintf("tools/call, %d in flight", t.InFlight), t.Direct.Latency, t.Proxy.Latency, "")
	row(fmt.Sprintf("first tools/list, %d tools", r.BigTools), r.BigListDirect, r.BigListProxy, listCmp(r.BigListDirect, r.BigListProxy))
	tw.Flush()
	fmt.Fprintf(w, "  throughput, %d in flight: direct %.0f calls/s, proxy %.0f calls/s (%.2fx); TCP connections opened to the Gateway during the run: direct %d, proxy %d (proxy lifetime %d)\n",
		t.InFlight, t.Direct.PerSecond, t.Proxy.PerSecond, t.Ratio, t.Direct.Conns, t.Proxy.Conns, t.ProxyConnsUp)
	fmt.Fprintf(w, "  proxy CPU per call: %.0f µs at %d in flight, %.0f µs sequential (utime+stime from /proc, 10 ms ticks)\n", t.ProxyCPU, t.InFlight, r.SeqProxyCPU)
	fmt.Fprintf(w, "  proxy CPU from start to the first tools/list of %d tools: median %.0f ms\n", r.BigTools, r.BigListProxyCPU.Median/1e3)
	fmt.Fprintf(w, "  proxy RSS: %.1f MiB after warm-up, %.1f MiB after the throughput run\n", float64(r.RSSWarmKiB)/1024, float64(r.RSSAfterKiB)/1024)
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
