package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// printTable writes the human-readable report.
func printTable(w io.Writer, r *Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "agw-proxy benchmark  %s  %s  %d CPUs%s\n", r.Time, r.GoVersion, r.CPUs, map[bool]string{true: "  (quick: one iteration each, not a measurement)"}[r.Quick])
	fmt.Fprintln(tw, "metric\tn\tdirect min / median / p99\tproxy min / median / p99\tproxy vs direct")
	row := func(name string, d, p Dist, cmp string) {
		ds := "-"
		if d.N > 0 {
			ds = dist(d)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", name, p.N, ds, dist(p), cmp)
	}
	row("start -> initialize", Dist{}, r.StartInitialize, "")
	row(fmt.Sprintf("start -> first tools/list (%d tool)", r.ToolsInStart), r.DirectColdList, r.StartToolsList,
		fmt.Sprintf("%+.2f ms", (r.StartToolsList.Median-r.DirectColdList.Median)/1e3))
	row("tools/call, sequential", r.CallDirect, r.CallProxy, fmt.Sprintf("%+.0f µs p50 (%.2fx)", r.CallOverheadP50, ratio(r.CallProxy.Median, r.CallDirect.Median)))
	t := r.Throughput
	row(fmt.Sprintf("tools/call, %d in flight", t.InFlight), t.Direct.Latency, t.Proxy.Latency, "")
	row(fmt.Sprintf("first tools/list, %d tools", r.BigTools), r.BigListDirect, r.BigListProxy, fmt.Sprintf("%+.1f ms p50 (%.2fx)", r.BigListOverhead/1e3, ratio(r.BigListProxy.Median, r.BigListDirect.Median)))
	tw.Flush()
	fmt.Fprintf(w, "\nthroughput, %d in flight: direct %.0f calls/s, proxy %.0f calls/s (%.2fx); TCP connections opened to the Gateway during the run: direct %d, proxy %d (proxy lifetime %d)\n",
		t.InFlight, t.Direct.PerSecond, t.Proxy.PerSecond, t.Ratio, t.Direct.Conns, t.Proxy.Conns, t.ProxyConnsUp)
	fmt.Fprintf(w, "proxy CPU per call: %.0f µs at %d in flight, %.0f µs sequential (utime+stime from /proc, 10 ms ticks)\n", t.ProxyCPU, t.InFlight, r.SeqProxyCPU)
	fmt.Fprintf(w, "proxy CPU from start to the first tools/list of %d tools: median %.0f ms\n", r.BigTools, r.BigListProxyCPU.Median/1e3)
	fmt.Fprintf(w, "proxy RSS: %.1f MiB after warm-up, %.1f MiB after the throughput run\n", float64(r.RSSWarmKiB)/1024, float64(r.RSSAfterKiB)/1024)

	fmt.Fprintln(w, "\ntargets (issue 6):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, g := range r.Targets {
		state := "holds"
		if !g.Holds {
			state = "MISSED"
		}
		op := "<"
		if g.Unit == "x" {
			op = ">="
		} else if g.Unit == "conns" {
			op = "<="
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s %s\t%s\n", g.Metric, num(g.Value, g.Unit), op, num(g.Limit, g.Unit), state)
	}
	tw.Flush()
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
