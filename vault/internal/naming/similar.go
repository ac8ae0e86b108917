package naming

import (
	"slices"
	"strings"
)

// Similar returns up to max of names that name may have been meant for,
// best first: names that look like it (see [Confusable]), names a typo or
// two away (letters swapped, missing, extra or wrong, regardless of case),
// and names whose last part after '/' is the same ("call-log" for
// "intake/call-log"). name itself (in any case) is never among them.
func Similar(name string, names []string, max int) []string {
	q := []rune(Fold(name))
	limit := 1
	switch {
	case len(q) > 8:
		limit = 3
	case len(q) > 4:
		limit = 2
	}
	type scored struct {
		name  string
		score int
	}
	var out []scored
	for _, n := range names {
		f := Fold(n)
		if f == string(q) {
			continue
		}
		score := -1
		switch {
		case Confusable(name, n):
			score = 0
		case lastPart(f) == lastPart(string(q)):
			score = 2
		default:
			if d := distance(q, []rune(f), limit); d <= limit {
				score = d
			}
		}
		if score >= 0 {
			out = append(out, scored{n, score})
		}
	}
	slices.SortStableFunc(out, func(a, b scored) int {
		if a.score != b.score {
			return a.score - b.score
		}
		return strings.Compare(Fold(a.name), Fold(b.name))
	})
	res := make([]string, 0, min(max, len(out)))
	for i := 0; i < len(out) && i < max; i++ {
		res = append(res, out[i].name)
	}
	return res
}

func lastPart(s string) string { return s[strings.LastIndexByte(s, '/')+1:] }

// distance is the optimal string alignment distance between a and b (the
// edits: insert, delete, replace, swap two neighbours), or limit+1 once it
// is sure to be more than limit.
func distance(a, b []rune, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			best = min(best, cur[j])
		}
		if best > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
