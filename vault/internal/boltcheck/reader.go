package boltcheck

import (
	"bytes"
	"fmt"
)

// Reader reads the keys and values of a bbolt file without bbolt, checking
// as it goes, so that reading a few keys costs a few pages rather than a
// pass over the whole file. Use it to read from a file that has not been
// checked, instead of [Check] and bbolt; use Check before bbolt opens the
// file.
//
// Every page a Reader visits is checked as [Check] checks it before
// anything on it is used: the page id against the high-water mark, the
// header's id, flags and overflow, the element array and every key and
// value inside the page (or its overflow run) without overlap, keys in
// strictly increasing order and within the range the parent branch gives
// the page, the top level holding only buckets, bucket headers, and
// inline bucket pages inside their value. Descent is limited to the same
// depth, so a page cycle ends in an error; a lookup also refuses a path
// that reaches a page twice, and a [Cursor] walk refuses any page it
// reaches twice. Errors wrap [ErrNotBolt], [ErrTruncated] or
// [ErrCorrupt] and never contain bytes of the data.
//
// What a Reader does not visit, it does not check: the freelist, other
// buckets, and pages shared between the tree it reads and one it does not.
// A file that reads cleanly here may still fail Check, which must pass
// before bbolt opens the file. Whenever Check passes, a Reader returns
// exactly what bbolt returns.
//
// The Reader keeps data and returns slices of it: data must not change
// while the Reader or anything it returned is in use. Like Check, it only
// reads data, and a fault on a memory mapping is passed on to the caller.
// A Reader and its Buckets may be used by several goroutines at once; a
// Cursor may not.
type Reader struct {
	data     []byte
	psz, hwm uint64
	root     uint64
	head     Head
	intact   bool
}

// NewReader checks the meta pages of the bbolt file held in data, picking
// one as bbolt does and checking its high-water mark against len(data),
// and returns a reader of the committed state it points at. It reads no
// other page.
func NewReader(data []byte) (_ *Reader, err error) {
	defer recoverInternal(&err)
	n := uint64(len(data))
	if n == 0 {
		return nil, fmt.Errorf("%w: empty file", ErrTruncated)
	}
	psz, err := pageSize(data)
	if err != nil {
		return nil, err
	}
	if n < 2*psz {
		return nil, fmt.Errorf("%w: %d bytes, shorter than two %d-byte meta pages", ErrTruncated, n, psz)
	}
	m, err := pickMeta(data, psz, n)
	if err != nil {
		return nil, err
	}
	_, s0 := readMeta(data, 0)
	_, s1 := readMeta(data, psz)
	return &Reader{data: data, psz: psz, hwm: m.pgid, root: m.root, head: Head{TxID: m.txid, Checksum: m.checksum},
		intact: s0 == metaValid && s1 == metaValid}, nil
}

// Intact reports whether both meta pages are valid, as bbolt always
// leaves them (it writes both when it creates a file, and each commit
// rewrites one whole). When one is not, the file was damaged, or copied
// while it was written: the state read may be an older one whose pages
// were since reused, and what looks like another program's data is more
// likely damage.
func (r *Reader) Intact() bool { return r.intact }

// Head returns the transaction and checksum of the meta page the Reader
// reads, as [CheckHead] would.
func (r *Reader) Head() Head { return r.head }

// Bucket returns the top-level bucket called name, or nil, nil when there
// is none.
func (r *Reader) Bucket(name []byte) (*Bucket, error) { return r.top().Bucket(name) }

// Cursor returns a cursor over the names of the top-level buckets. As
// with bbolt's Tx.Cursor, every value it returns is nil.
func (r *Reader) Cursor() *Cursor { return r.top().Cursor() }

func (r *Reader) top() *Bucket { return &Bucket{r: r, root: r.root, depth: 1, top: true} }

// Bucket is a bucket of a file read by a [Reader]. Its pages are checked
// each time a method visits them.
type Bucket struct {
	r      *Reader
	root   uint64 // the root page, unless inline
	inline span   // the page inside the bucket's value, if inline
	depth  int    // the depth of the root page, counted as Check does
	top    bool   // the file's root bucket, which holds only buckets
}

// Get returns the value of key in the bucket, or nil when there is no
// such key. As with bbolt, it also returns nil when key names a nested
// bucket (open it with [Bucket.Bucket]), and an empty, non-nil slice for
// an empty value. It checks every page on the way from the bucket's root
// to the leaf.
func (b *Bucket) Get(key []byte) (_ []byte, err error) {
	defer recoverInternal(&err)
	var path [8]frame
	c := Cursor{b: b, stack: path[:0]}
	k, v, flags, err := c.lookup(key)
	if err != nil || flags&bucketLeafFlag != 0 || !bytes.Equal(k, key) {
		return nil, err
	}
	return v, nil
}

// Bucket returns the bucket nested in b under name, or nil, nil when
// there is none or name holds a value.
func (b *Bucket) Bucket(name []byte) (_ *Bucket, err error) {
	defer recoverInternal(&err)
	var path [8]frame
	c := Cursor{b: b, stack: path[:0]}
	k, _, flags, err := c.lookup(name)
	if err != nil || flags&bucketLeafFlag == 0 || !bytes.Equal(k, name) {
		return nil, err
	}
	f := c.stack[len(c.stack)-1]
	return b.r.open(f.p, f.index, f.depth+1)
}

// ForEach calls fn with every key and value of the bucket in key order, as
// bbolt's Bucket.ForEach does (the value of a nested bucket is nil), and
// stops at the first error fn returns, which it returns as is. It checks
// every page it visits, and that it visits none twice.
func (b *Bucket) ForEach(fn func(k, v []byte) error) error {
	c := b.Cursor()
	k, v, err := c.First()
	for ; err == nil && k != nil; k, v, err = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return err
}

// Cursor returns a cursor over the bucket's keys.
func (b *Bucket) Cursor() *Cursor { return &Cursor{b: b} }

// Cursor walks a bucket's keys in order, as bbolt's Cursor does: the value
// of a nested bucket is nil, and a nil key means there are no more. Each
// walk, from [Cursor.First] or [Cursor.Seek] through [Cursor.Next], checks
// every page it visits and that it visits none twice. After an error,
// Next returns it again until the next First or Seek.
type Cursor struct {
	b     *Bucket
	stack []frame  // the pages from the bucket's root to a leaf
	seen  []uint64 // bit per page id reached in this walk; nil in a lookup
	err   error
}

// frame is a checked page on a cursor's path, and the element the cursor
// is at.
type frame struct {
	p     span
	b     bounds
	depth int
	index uint64
}

// First moves to the first key of the bucket and returns it, with its
// value.
func (c *Cursor) First() (k, v []byte, err error) {
	defer recoverInternal(&err)
	c.walk()
	if err := c.start(); err != nil {
		return c.fail(err)
	}
	if err := c.descend(); err != nil {
		return c.fail(err)
	}
	if f := &c.stack[len(c.stack)-1]; f.index >= f.p.count {
		// Only a root leaf can be empty.
		return nil, nil, nil
	}
	return c.current()
}

// Seek moves to the first key at or after seek and returns it, with its
// value.
func (c *Cursor) Seek(seek []byte) (k, v []byte, err error) {
	defer recoverInternal(&err)
	c.walk()
	if err := c.start(); err != nil {
		return c.fail(err)
	}
	if err := c.search(seek); err != nil {
		return c.fail(err)
	}
	if f := &c.stack[len(c.stack)-1]; f.index >= f.p.count {
		return c.Next()
	}
	return c.current()
}

// Next moves to the next key and returns it, with its value; on a cursor
// that First or Seek has not placed, it is First.
func (c *Cursor) Next() (k, v []byte, err error) {
	defer recoverInternal(&err)
	if c.err != nil {
		return nil, nil, c.err
	}
	if len(c.stack) == 0 {
		// Neither First nor Seek was called: start at the first key.
		return c.First()
	}
	i := len(c.stack) - 1
	for ; i >= 0; i-- {
		if f := &c.stack[i]; f.index+1 < f.p.count {
			f.index++
			break
		}
	}
	if i < 0 {
		// At the end; stay there.
		c.stack[len(c.stack)-1].index = c.stack[len(c.stack)-1].p.count
		return nil, nil, nil
	}
	c.stack = c.stack[:i+1]
	if err := c.descend(); err != nil {
		return c.fail(err)
	}
	return c.current()
}

func (c *Cursor) fail(err error) ([]byte, []byte, error) {
	c.err, c.stack = err, c.stack[:0]
	return nil, nil, err
}

// current returns the key and value the cursor is at, or nil at the end.
func (c *Cursor) current() (k, v []byte, err error) {
	k, v, flags := c.entry()
	if flags&bucketLeafFlag != 0 {
		v = nil
	}
	return k, v, nil
}

// entry returns the key, value and flags of the leaf element the cursor
// is at, or nil past the end of the leaf.
func (c *Cursor) entry() (k, v []byte, flags uint32) {
	f := &c.stack[len(c.stack)-1]
	if f.index >= f.p.count {
		return nil, nil, 0
	}
	e := f.p.elem(f.index)
	d := c.b.r.data
	off, kn, vn := e+uint64(ne.Uint32(d[e+4:])), uint64(ne.Uint32(d[e+8:])), uint64(ne.Uint32(d[e+12:]))
	return d[off : off+kn : off+kn], d[off+kn : off+kn+vn : off+kn+vn], ne.Uint32(d[e:])
}

// lookup moves to where key is or would be, as bbolt's Get does, checking
// only the pages on that path, and returns the leaf element there.
func (c *Cursor) lookup(key []byte) (k, v []byte, flags uint32, err error) {
	if err := c.start(); err != nil {
		return nil, nil, 0, err
	}
	if err := c.search(key); err != nil {
		return nil, nil, 0, err
	}
	k, v, flags = c.entry()
	return k, v, flags, nil
}

// start empties the stack, begins a new walk and puts the bucket's root
// page on the stack.
func (c *Cursor) start() error {
	c.err, c.stack = nil, c.stack[:0]
	if c.seen != nil {
		clear(c.seen)
	}
	if c.b.inline.inline {
		if c.b.depth > maxDepth {
			return fmt.Errorf("%w: page %d: more than %d levels of pages and buckets", ErrCorrupt, c.b.inline.id, maxDepth)
		}
		if err := c.b.r.elements(c.b.inline, bounds{}); err != nil {
			return err
		}
		c.stack = append(c.stack, frame{p: c.b.inline, depth: c.b.depth})
		return nil
	}
	return c.push(c.b.root, c.b.depth, bounds{top: c.b.top})
}

// walk makes the cursor keep a set of the pages it reaches; a lookup
// needs none, since it cannot reach a page twice without repeating one on
// its path.
func (c *Cursor) walk() {
	if c.seen == nil {
		c.seen = make([]uint64, (c.b.r.hwm+63)/64)
	}
}

// search descends from the root on the stack to the leaf where key is or
// would be, choosing children as bbolt does.
func (c *Cursor) search(key []byte) error {
	for {
		f := &c.stack[len(c.stack)-1]
		i := c.b.r.find(f.p, key)
		if f.p.leaf {
			f.index = i
			return nil
		}
		if i == f.p.count || !bytes.Equal(c.b.r.bytes(c.b.r.key(f.p, i)), key) {
			// Not exact: the child before covers key.
			i = max(i, 1) - 1
		}
		f.index = i
		if err := c.child(); err != nil {
			return err
		}
	}
}

// descend pushes the first child of each page down to a leaf.
func (c *Cursor) descend() error {
	for !c.stack[len(c.stack)-1].p.leaf {
		if err := c.child(); err != nil {
			return err
		}
	}
	return nil
}

// child pushes the child of the branch page on top of the stack at its
// index, bounded by that element's key and the next one.
func (c *Cursor) child() error {
	f := c.stack[len(c.stack)-1]
	r := c.b.r
	cb := bounds{first: r.key(f.p, f.index), limit: f.b.limit, top: f.b.top}
	if f.index+1 < f.p.count {
		cb.limit = r.key(f.p, f.index+1)
	}
	return c.push(ne.Uint64(r.data[f.p.elem(f.index)+8:]), f.depth+1, cb)
}

// push checks page id, reached at depth with bounds b, and puts it on the
// stack.
func (c *Cursor) push(id uint64, depth int, b bounds) error {
	r := c.b.r
	if depth > maxDepth {
		return fmt.Errorf("%w: page %d: more than %d levels of pages and buckets", ErrCorrupt, id, maxDepth)
	}
	if id < 2 || id >= r.hwm {
		return fmt.Errorf("%w: tree page id %d outside [2, %d)", ErrCorrupt, id, r.hwm)
	}
	base := id * r.psz
	h := r.data[base : base+pageHeaderSize]
	overflow := uint64(ne.Uint32(h[hdrOverflow:]))
	if overflow >= r.hwm-id {
		return fmt.Errorf("%w: page %d: %d overflow pages run past the high-water mark %d", ErrCorrupt, id, overflow, r.hwm)
	}
	if err := c.claim(id, overflow); err != nil {
		return err
	}
	if got := ne.Uint64(h); got != id {
		return fmt.Errorf("%w: page %d: header says page %d", ErrCorrupt, id, got)
	}
	flags, count := ne.Uint16(h[hdrFlags:]), uint64(ne.Uint16(h[hdrCount:]))
	if err := checkTreePage(id, flags, count, b); err != nil {
		return err
	}
	p := span{id: id, base: base, end: base + (overflow+1)*r.psz, count: count, leaf: flags == leafPageFlag}
	if err := r.elements(p, b); err != nil {
		return err
	}
	c.stack = append(c.stack, frame{p: p, b: b, depth: depth})
	return nil
}

// claim records that a walk reached pages id..id+overflow, failing on any
// it reached before. A lookup, which keeps no set, checks its path.
func (c *Cursor) claim(id, overflow uint64) error {
	if c.seen == nil {
		for _, f := range c.stack {
			if f.p.inline {
				continue
			}
			if last := f.p.id + (f.p.end-f.p.base)/c.b.r.psz - 1; id <= last && f.p.id <= id+overflow {
				return fmt.Errorf("%w: page %d reached more than once", ErrCorrupt, max(id, f.p.id))
			}
		}
		return nil
	}
	for p := id; p <= id+overflow; p++ {
		w, bit := p/64, uint64(1)<<(p%64)
		if c.seen[w]&bit != 0 {
			return fmt.Errorf("%w: page %d reached more than once", ErrCorrupt, p)
		}
		c.seen[w] |= bit
	}
	return nil
}

// open returns the bucket held by leaf element i of page p, a page at the
// given depth less one, whose elements are checked.
func (r *Reader) open(p span, i uint64, depth int) (*Bucket, error) {
	e := p.elem(i)
	off := e + uint64(ne.Uint32(r.data[e+4:])) + uint64(ne.Uint32(r.data[e+8:]))
	n := uint64(ne.Uint32(r.data[e+12:])) // at least a bucket header
	if root := ne.Uint64(r.data[off:]); root != 0 {
		return &Bucket{r: r, root: root, depth: depth}, nil
	}
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: page %d: more than %d levels of pages and buckets", ErrCorrupt, p.id, maxDepth)
	}
	base, end := off+bucketHeaderSize, off+n
	if end-base < pageHeaderSize {
		return nil, fmt.Errorf("%w: page %d: element %d: inline bucket too short", ErrCorrupt, p.id, i)
	}
	h := r.data[base : base+pageHeaderSize]
	if flags := ne.Uint16(h[hdrFlags:]); flags != leafPageFlag {
		return nil, fmt.Errorf("%w: page %d: element %d: inline bucket page flags %#x", ErrCorrupt, p.id, i, flags)
	}
	in := span{id: p.id, base: base, end: end, count: uint64(ne.Uint16(h[hdrCount:])), leaf: true, inline: true}
	return &Bucket{r: r, inline: in, depth: depth}, nil
}

// elements checks the element array of p and its keys and values as
// Check does, but not what they lead to: every key and value inside the
// page after the element array and the previous element's data, keys
// non-empty, in strictly increasing order, starting with b.first and
// below b.limit, bucket values at least a bucket header long, and only
// buckets at the top level.
func (r *Reader) elements(p span, b bounds) error {
	_, err := walkElements(r.data, p, b, func(i, e uint64, k, prev key, vsize uint64) error {
		if !p.leaf {
			return nil
		}
		if ne.Uint32(r.data[e:])&bucketLeafFlag != 0 {
			if vsize < bucketHeaderSize {
				return fmt.Errorf("%w: page %d: element %d: bucket value too short", ErrCorrupt, p.id, i)
			}
		} else if b.top {
			return fmt.Errorf("%w: page %d: element %d: top-level entry is not a bucket", ErrCorrupt, p.id, i)
		}
		return nil
	})
	return err
}

// key returns the position of the key of element i of the checked page p.
func (r *Reader) key(p span, i uint64) key {
	e := p.elem(i)
	if p.leaf {
		return key{e + uint64(ne.Uint32(r.data[e+4:])), uint64(ne.Uint32(r.data[e+8:]))}
	}
	return key{e + uint64(ne.Uint32(r.data[e:])), uint64(ne.Uint32(r.data[e+4:]))}
}

func (r *Reader) bytes(k key) []byte { return r.data[k.off : k.off+k.n] }

// find returns the index of the first key of the checked page p at or
// after key, or p.count if there is none.
func (r *Reader) find(p span, key []byte) uint64 {
	lo, hi := uint64(0), p.count
	for lo < hi {
		mid := lo + (hi-lo)/2
		if bytes.Compare(r.bytes(r.key(p, mid)), key) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// recoverInternal turns a panic in this package into an error wrapping
// errInternal, as Check does; tests make sure it never happens. A fault
// on the caller's memory mapping is theirs to handle.
func recoverInternal(err *error) {
	if r := recover(); r != nil {
		if _, fault := r.(interface{ Addr() uintptr }); fault {
			panic(r)
		}
		*err = fmt.Errorf("%w: %w", ErrCorrupt, errInternal)
	}
}
