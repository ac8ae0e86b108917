package naming

import (
	"sort"
	"strings"

	"golang.org/x/text/unicode/norm"
)

//go:generate go run gen_confusables.go $GOMODCACHE/github.com/mtibben/confusables@v0.0.0-20210201002637-9d1b0723b659

// confusable is one line of Unicode's confusables table: a character, and
// the prototype string it looks like.
type confusable struct {
	r         rune
	prototype string
}

// skeleton is the skeleton of s as UTS #39 defines it: s in NFD, each
// character replaced by its prototype, and NFD again. Two strings with the
// same skeleton look alike. The table is a sorted array, not a map, so
// that it costs nothing when the program starts.
func skeleton(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		i := sort.Search(len(confusableTable), func(i int) bool { return confusableTable[i].r >= r })
		if i < len(confusableTable) && confusableTable[i].r == r {
			b.WriteString(confusableTable[i].prototype)
		} else {
			b.WriteRune(r)
		}
	}
	return norm.NFD.String(b.String())
}
