package oplog

import (
	"container/heap"
	"slices"
)

// Graph is a set of operations in the one order every copy agrees on,
// with their parent links, for ancestry questions.
type Graph struct {
	// Order lists the operations so that each comes after its parents;
	// among operations whose parents have all come, the smallest ID first.
	Order []ID
	// Dangling are operations left out because a parent (or a parent's
	// parent) is missing from the set. They find their place once the
	// missing operations arrive.
	Dangling []ID
	index    map[ID]int
	parents  [][]int
	// run[i] is where the run of operations ending at i begins: each
	// operation after run[i], up to i, has the one before it as its only
	// parent (in the graph). A history made on one machine at a time is
	// one long run, so ancestry questions jump rather than walk.
	run []int
}

// Order puts a set of operations, given as ID → parents, in order. Parents
// outside the set leave their operation (and what was made on top of it)
// dangling, unless known reports them as already placed: then they count
// as satisfied (used when ordering new operations on top of a known
// history).
func Order(parents map[ID][]ID, known func(ID) bool) *Graph {
	g := &Graph{index: make(map[ID]int, len(parents))}
	waiting := make(map[ID]int, len(parents))
	children := make(map[ID][]ID, len(parents))
	blocked := map[ID]bool{}
	h := &idHeap{}
	for id, ps := range parents {
		n := 0
		for _, p := range ps {
			switch {
			case p == id:
				blocked[id] = true
			case hasKey(parents, p):
				n++
				children[p] = append(children[p], id)
			case known != nil && known(p):
			default:
				blocked[id] = true
			}
		}
		waiting[id] = n
		if n == 0 && !blocked[id] {
			*h = append(*h, id)
		}
	}
	heap.Init(h)
	for h.Len() > 0 {
		id := heap.Pop(h).(ID)
		g.index[id] = len(g.Order)
		g.Order = append(g.Order, id)
		for _, c := range children[id] {
			waiting[c]--
			if waiting[c] == 0 && !blocked[c] {
				heap.Push(h, c)
			}
		}
	}
	for id := range parents {
		if _, ok := g.index[id]; !ok {
			g.Dangling = append(g.Dangling, id)
		}
	}
	slices.SortFunc(g.Dangling, ID.Compare)
	g.parents = make([][]int, len(g.Order))
	g.run = make([]int, len(g.Order))
	for i, id := range g.Order {
		for _, p := range parents[id] {
			if j, ok := g.index[p]; ok {
				g.parents[i] = append(g.parents[i], j)
			}
		}
		g.run[i] = i
		if ps := g.parents[i]; len(ps) == 1 && ps[0] == i-1 {
			g.run[i] = g.run[i-1]
		}
	}
	return g
}

func hasKey(m map[ID][]ID, k ID) bool { _, ok := m[k]; return ok }

// Index returns an operation's position in the order.
func (g *Graph) Index(id ID) (int, bool) {
	i, ok := g.index[id]
	return i, ok
}

// Parents returns the positions of the parents of the operation at i
// (those in the graph).
func (g *Graph) Parents(i int) []int { return g.parents[i] }

// IsAncestor reports whether the operation at a is an ancestor of the one
// at b (strictly: a != b). It walks back from b, never below a's position.
//
// Within a run (see Graph.run) every earlier operation is an ancestor, so
// the walk visits only the first operation of each run it passes through:
// on a history with few concurrent changes, a handful of steps.
func (g *Graph) IsAncestor(a, b int) bool {
	if a >= b {
		return false
	}
	var seen map[int]bool
	stack := []int{b}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		start := g.run[n]
		if start <= a {
			return true // a < n, in n's run
		}
		for _, p := range g.parents[start] {
			if p == a {
				return true
			}
			if p > a && !seen[p] {
				if seen == nil {
					seen = map[int]bool{}
				}
				seen[p] = true
				stack = append(stack, p)
			}
		}
	}
	return false
}

// Ancestors returns, for the operation at b, a set of the positions of all
// its ancestors.
func (g *Graph) Ancestors(b int) Bits {
	out := NewBits(len(g.Order))
	stack := []int{b}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, p := range g.parents[n] {
			if !out.Has(p) {
				out.Set(p)
				stack = append(stack, p)
			}
		}
	}
	return out
}

// Heads returns the IDs in the graph that are no operation's parent.
func (g *Graph) Heads() []ID {
	isParent := make([]bool, len(g.Order))
	for _, ps := range g.parents {
		for _, p := range ps {
			isParent[p] = true
		}
	}
	var out []ID
	for i, id := range g.Order {
		if !isParent[i] {
			out = append(out, id)
		}
	}
	slices.SortFunc(out, ID.Compare)
	return out
}

type idHeap []ID

func (h idHeap) Len() int           { return len(h) }
func (h idHeap) Less(i, j int) bool { return h[i].Compare(h[j]) < 0 }
func (h idHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *idHeap) Push(x any)        { *h = append(*h, x.(ID)) }
func (h *idHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Bits is a fixed-size set of small integers.
type Bits []uint64

// NewBits returns an empty set for 0..n-1.
func NewBits(n int) Bits { return make(Bits, (n+63)/64) }

// Set adds i.
func (b Bits) Set(i int) { b[i/64] |= 1 << (i % 64) }

// Has reports whether i is in the set.
func (b Bits) Has(i int) bool { return i/64 < len(b) && b[i/64]&(1<<(i%64)) != 0 }

// Or adds every member of o.
func (b Bits) Or(o Bits) {
	for i := range o {
		b[i] |= o[i]
	}
}

// Key returns the set as a map key.
func (b Bits) Key() string {
	out := make([]byte, 0, len(b)*8)
	for _, w := range b {
		for s := 0; s < 64; s += 8 {
			out = append(out, byte(w>>s))
		}
	}
	return string(out)
}
