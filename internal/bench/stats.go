package main

import (
	"math"
	"slices"
	"time"
)

// Dist summarises a sample of durations, in microseconds.
type Dist struct {
	N      int     `json:"n"`
	Min    float64 `json:"min_us"`
	Median float64 `json:"median_us"`
	P99    float64 `json:"p99_us"`
	Mean   float64 `json:"mean_us"`
}

// summarize returns min, median, p99 (nearest rank) and mean of d.
func summarize(d []time.Duration) Dist {
	if len(d) == 0 {
		return Dist{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	var sum time.Duration
	for _, v := range s {
		sum += v
	}
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	us := func(v time.Duration) float64 { return float64(v.Nanoseconds()) / 1e3 }
	return Dist{
		N:      len(s),
		Min:    us(s[0]),
		Median: us(rank(0.5)),
		P99:    us(rank(0.99)),
		Mean:   us(sum / time.Duration(len(s))),
	}
}
