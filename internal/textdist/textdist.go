// Package textdist measures how far apart two strings are, for the "did you
// mean" hints of config errors, the login typo guard and doctor's near
// misses.
package textdist

import "strings"

// Levenshtein is the edit distance between a and b, in bytes: the number of
// single-byte insertions, deletions and substitutions that turn a into b.
func Levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Nearest returns the option closest to word (ignoring case) when it is
// close enough to be a likely typo, else "".
func Nearest(word string, options []string) string {
	best, bestDist := "", 0
	w := strings.ToLower(word)
	for _, o := range options {
		dist := Levenshtein(w, strings.ToLower(o))
		if best == "" || dist < bestDist {
			best, bestDist = o, dist
		}
	}
	if best == "" || bestDist > max(2, len(word)/4) || bestDist >= len(word) {
		return ""
	}
	return best
}
