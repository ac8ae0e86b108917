package boltcheck

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrNotBolt is returned when neither meta page carries bbolt's magic
// number: the data is not a bbolt file at all (a text file, an age file).
var ErrNotBolt = errors.New("boltcheck: not a bbolt file")

// ErrTruncated is returned when the data is shorter than the two meta
// pages, or shorter than the high-water mark recorded in the meta page
// bbolt would use.
var ErrTruncated = errors.New("boltcheck: bbolt file truncated")

// ErrCorrupt is returned when the data is a bbolt file of full length
// whose structure is damaged in any other way.
var ErrCorrupt = errors.New("boltcheck: bbolt file corrupt")

// errNoFreelist is returned for a file whose meta page records no
// freelist (bbolt's NoFreelistSync). bbolt's read-write open rebuilds the
// freelist by walking every page of the file in a goroutine of its own,
// where a fault is fatal and no recover reaches, and then writes it to
// the file: a file without one is refused, so that opening an accepted
// file for writing reads nothing more than a read does and writes only
// through a transaction.
var errNoFreelist = fmt.Errorf("%w: no freelist (a file written with bbolt's NoFreelistSync)", ErrCorrupt)

// errInternal marks a bug in this package that was caught by the recover
// in Check. Tests make sure it never happens.
var errInternal = errors.New("internal error")

// The layout of a bbolt file (go.etcd.io/bbolt, file format version 2).
// All integers are in the machine's native byte order, as bbolt writes them.
const (
	magic   uint32 = 0xED0CDAED
	version uint32 = 2

	// Page header: id uint64, flags uint16, count uint16, overflow uint32.
	pageHeaderSize = 16
	hdrFlags       = 8
	hdrCount       = 10
	hdrOverflow    = 12

	// Meta, right after page 0's or page 1's header: magic uint32,
	// version uint32, pageSize uint32, flags uint32, root bucket (root
	// pgid uint64, sequence uint64), freelist pgid uint64, high-water mark
	// pgid uint64, txid uint64, checksum uint64 (FNV-64a of the bytes
	// before it).
	metaSize        = 64
	metaVersion     = 4
	metaPageSize    = 8
	metaRoot        = 16
	metaFreelist    = 32
	metaPgid        = 40
	metaTxid        = 48
	metaChecksum    = 56
	metaNeeds       = pageHeaderSize + metaSize
	firstMetaRead   = 0x1000 // bbolt reads 4 KiB at offset 0 to find the page size
	secondMetaFirst = 1024   // then tries 1 KiB << i, i = 0..14, for meta 1
	secondMetaTries = 15

	// Leaf element: flags, pos, ksize, vsize uint32. Branch element: pos,
	// ksize uint32, child pgid uint64. pos counts from the element itself.
	elemSize         = 16
	bucketHeaderSize = 16 // root pgid uint64, sequence uint64

	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	freelistPageFlag = 0x10
	bucketLeafFlag   = 0x01
	freelistOverflow = 0xFFFF             // freelist count stored in the first id
	noFreelist       = 0xFFFFFFFFFFFFFFFF // meta.freelist when the freelist is not synced

	minPageSize = 512
	maxPageSize = 1 << 16

	// maxDepth bounds page levels plus bucket nesting on any path from
	// the root. Real B+trees are a handful of levels deep.
	maxDepth = 64
)

var ne = binary.NativeEndian

// Check validates the on-disk structure of a bbolt file held in data. It
// returns nil if the structure is sound: bbolt can open the file, and read
// and update every bucket, key and value, without reading outside data,
// looping or crashing.
//
// It mirrors how bbolt (opened without an explicit page size) finds the
// page size and picks a meta page, then checks the high-water mark against
// len(data), the freelist page and its ids (a file without a freelist is
// refused: bbolt would rebuild and write one as it opens the file), and every page of every
// bucket: ids in range, page headers, element arrays, keys and values
// inside their page, key order, bucket headers and inline bucket pages
// inside their values, and that no page is reached twice or is both in
// use and free. Errors wrap [ErrNotBolt], [ErrTruncated] or [ErrCorrupt]
// and never contain bytes of the data.
//
// Check only reads data. If data is a memory mapping, a fault on it (the
// file shrank) is not recovered here but passed on to the caller.
func Check(data []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if _, fault := r.(interface{ Addr() uintptr }); fault {
				panic(r) // a fault on the caller's mapping: theirs to handle
			}
			err = fmt.Errorf("%w: %w", ErrCorrupt, errInternal)
		}
	}()
	return check(data)
}

func check(data []byte) error {
	n := uint64(len(data))
	if n == 0 {
		return fmt.Errorf("%w: empty file", ErrTruncated)
	}
	psz, err := pageSize(data)
	if err != nil {
		return err
	}
	if n < 2*psz {
		return fmt.Errorf("%w: %d bytes, shorter than two %d-byte meta pages", ErrTruncated, n, psz)
	}

	m, err := pickMeta(data, psz, n)
	if err != nil {
		return err
	}
	hwm := m.pgid

	c := checker{data: data, psz: psz, hwm: hwm, seen: make([]uint64, (hwm+63)/64)}
	c.seen[0] |= 3 // the meta pages

	if m.freelist == noFreelist {
		return errNoFreelist
	}
	freeOff, freeCount, err := c.freelist(m.freelist)
	if err != nil {
		return err
	}
	if err := c.page(m.root, 1, bounds{top: true}); err != nil {
		return err
	}
	// A page listed as free must not be in use, nor listed twice: bbolt
	// would hand it out again and overwrite live data, or panic.
	for i := uint64(0); i < freeCount; i++ {
		id := ne.Uint64(data[freeOff+8*i:])
		if c.seen[id/64]&(1<<(id%64)) != 0 {
			return fmt.Errorf("%w: freelist page %d: page %d is listed as free but in use or listed twice", ErrCorrupt, m.freelist, id)
		}
		c.seen[id/64] |= 1 << (id % 64)
	}
	return nil
}

// pickMeta picks the meta as bbolt's db.meta() does: the valid one with the
// higher txid, else the other valid one; and checks it against the page
// size and the file's length n.
func pickMeta(data []byte, psz, n uint64) (meta, error) {
	m0, s0 := readMeta(data, 0)
	m1, s1 := readMeta(data, psz)
	var m meta
	switch {
	case s0 == metaValid && s1 == metaValid:
		m = m0
		if m1.txid > m0.txid {
			m = m1
		}
	case s0 == metaValid:
		m = m0
	case s1 == metaValid:
		m = m1
	case s0 == metaNoMagic && s1 == metaNoMagic:
		return meta{}, fmt.Errorf("%w: no bbolt magic in either meta page", ErrNotBolt)
	default:
		return meta{}, fmt.Errorf("%w: both meta pages invalid", ErrCorrupt)
	}
	if uint64(m.pageSize) != psz {
		return meta{}, fmt.Errorf("%w: meta page size %d differs from the file's page size %d", ErrCorrupt, m.pageSize, psz)
	}
	if m.pgid > n/psz {
		return meta{}, fmt.Errorf("%w: %d bytes, shorter than the high-water mark of %d pages of %d bytes", ErrTruncated, n, m.pgid, psz)
	}
	if m.pgid < 3 {
		return meta{}, fmt.Errorf("%w: high-water mark %d leaves no room for a root page", ErrCorrupt, m.pgid)
	}
	return m, nil
}

type metaStatus int

const (
	metaShort   metaStatus = iota // not enough bytes for a meta
	metaNoMagic                   // no bbolt magic
	metaInvalid                   // magic, but wrong version or checksum
	metaValid                     // passes bbolt's Meta.Validate
)

type meta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	pgid     uint64
	txid     uint64
	checksum uint64
}

// readMeta reads and validates the meta of the page at offset off, as
// bbolt's Meta.Validate does.
func readMeta(data []byte, off uint64) (meta, metaStatus) {
	n := uint64(len(data))
	if off > n || n-off < metaNeeds {
		return meta{}, metaShort
	}
	b := data[off+pageHeaderSize : off+metaNeeds]
	if ne.Uint32(b) != magic {
		return meta{}, metaNoMagic
	}
	m := meta{
		pageSize: ne.Uint32(b[metaPageSize:]),
		root:     ne.Uint64(b[metaRoot:]),
		freelist: ne.Uint64(b[metaFreelist:]),
		pgid:     ne.Uint64(b[metaPgid:]),
		txid:     ne.Uint64(b[metaTxid:]),
		checksum: ne.Uint64(b[metaChecksum:]),
	}
	if ne.Uint32(b[metaVersion:]) != version || ne.Uint64(b[metaChecksum:]) != fnv64a(b[:metaChecksum]) {
		return m, metaInvalid
	}
	return m, metaValid
}

// fnv64a is FNV-1a, 64 bit, as hash/fnv computes it, without allocating.
func fnv64a(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// pageSize finds the page size as bbolt's getPageSize does: from meta 0 if
// bbolt can read 4 KiB there and it validates, else from the first valid
// meta at 1 KiB << i. bbolt's last resort, the OS page size, never opens a
// file whose metas all failed here, so that case is an error.
func pageSize(data []byte) (uint64, error) {
	n := uint64(len(data))
	if n >= firstMetaRead {
		if m, s := readMeta(data, 0); s == metaValid {
			return sanePageSize(m.pageSize)
		}
	}
	for i := range secondMetaTries {
		pos := uint64(secondMetaFirst) << i
		if pos+1024 >= n {
			break
		}
		if m, s := readMeta(data, pos); s == metaValid {
			return sanePageSize(m.pageSize)
		}
	}
	return 0, noMeta(data)
}

func sanePageSize(ps uint32) (uint64, error) {
	if ps < minPageSize || ps > maxPageSize || ps&(ps-1) != 0 {
		return 0, fmt.Errorf("%w: unsupported page size %d", ErrCorrupt, ps)
	}
	return uint64(ps), nil
}

// noMeta explains why no meta page bbolt could use was found.
func noMeta(data []byte) error {
	n := uint64(len(data))
	m0, s0 := readMeta(data, 0)
	switch s0 {
	case metaValid:
		// Only when data is shorter than the 4 KiB bbolt reads first.
		return fmt.Errorf("%w: %d bytes, shorter than the meta pages", ErrTruncated, n)
	case metaInvalid:
		if ps, err := sanePageSize(m0.pageSize); err == nil && n < 2*ps {
			return fmt.Errorf("%w: %d bytes, shorter than the meta pages", ErrTruncated, n)
		}
		return fmt.Errorf("%w: both meta pages invalid", ErrCorrupt)
	case metaShort:
		if isMetaPrefix(data) {
			return fmt.Errorf("%w: %d bytes, shorter than the meta pages", ErrTruncated, n)
		}
		return fmt.Errorf("%w: too short to be a bbolt file", ErrNotBolt)
	}
	// No magic on page 0: a bbolt file only if meta 1 is where bbolt
	// looks for it.
	for i := range secondMetaTries {
		pos := uint64(secondMetaFirst) << i
		if _, s := readMeta(data, pos); s == metaShort {
			break
		} else if s != metaNoMagic {
			return fmt.Errorf("%w: meta page 0 invalid and no valid meta page 1", ErrCorrupt)
		}
	}
	if hasBoltPages(data) {
		// The meta pages were overwritten (with zeros, say, by a copy
		// whose first blocks were not written yet): damaged, not some
		// other kind of file.
		return fmt.Errorf("%w: no meta page, but the pages of a bbolt file", ErrCorrupt)
	}
	return fmt.Errorf("%w: no bbolt magic in either meta page", ErrNotBolt)
}

// hasBoltPages reports whether data, whose meta pages are gone, holds
// pages of a bbolt file: for some page size, a page past the metas whose
// header carries its own page id (a small number, in eight bytes) and a
// tree or freelist page type. Text, zeros and random bytes do not.
func hasBoltPages(data []byte) bool {
	n := uint64(len(data))
	for psz := uint64(minPageSize); psz <= maxPageSize; psz <<= 1 {
		for id := uint64(2); (id+1)*psz <= n; id++ {
			h := data[id*psz : id*psz+pageHeaderSize]
			switch ne.Uint16(h[hdrFlags:]) {
			case branchPageFlag, leafPageFlag, freelistPageFlag:
				if ne.Uint64(h) == id {
					return true
				}
			}
		}
	}
	return false
}

// isMetaPrefix reports whether data, shorter than a meta page, is the
// start of one as bbolt writes page 0: id 0, meta flag, no count or
// overflow, magic, version.
func isMetaPrefix(data []byte) bool {
	var want [pageHeaderSize + 8]byte
	ne.PutUint16(want[hdrFlags:], 0x04)
	ne.PutUint32(want[pageHeaderSize:], magic)
	ne.PutUint32(want[pageHeaderSize+metaVersion:], version)
	k := min(len(data), len(want))
	return string(data[:k]) == string(want[:k])
}

// checker walks the pages below the high-water mark hwm. Every offset it
// computes is checked against hwm*psz <= len(data) before use; all
// arithmetic is in uint64 on values far below 2^63, so it cannot wrap.
type checker struct {
	data []byte
	psz  uint64
	hwm  uint64
	seen []uint64 // bit per page id: reached already
}

// claim marks pages id..id+overflow as reached, failing on any reached
// before: this rejects cycles and pages shared between trees.
func (c *checker) claim(id, overflow uint64) error {
	for p := id; p <= id+overflow; p++ {
		w, bit := p/64, uint64(1)<<(p%64)
		if c.seen[w]&bit != 0 {
			return fmt.Errorf("%w: page %d reached more than once", ErrCorrupt, p)
		}
		c.seen[w] |= bit
	}
	return nil
}

// header reads and checks the header of page id, claims the page and its
// overflow pages, and returns its flags, count and end offset.
func (c *checker) header(id uint64, what string) (base, end uint64, flags uint16, count uint64, err error) {
	if id < 2 || id >= c.hwm {
		return 0, 0, 0, 0, fmt.Errorf("%w: %s page id %d outside [2, %d)", ErrCorrupt, what, id, c.hwm)
	}
	base = id * c.psz
	h := c.data[base : base+pageHeaderSize]
	overflow := uint64(ne.Uint32(h[hdrOverflow:]))
	if overflow >= c.hwm-id {
		return 0, 0, 0, 0, fmt.Errorf("%w: page %d: %d overflow pages run past the high-water mark %d", ErrCorrupt, id, overflow, c.hwm)
	}
	if err := c.claim(id, overflow); err != nil {
		return 0, 0, 0, 0, err
	}
	if got := ne.Uint64(h); got != id {
		return 0, 0, 0, 0, fmt.Errorf("%w: page %d: header says page %d", ErrCorrupt, id, got)
	}
	end = base + (overflow+1)*c.psz
	return base, end, ne.Uint16(h[hdrFlags:]), uint64(ne.Uint16(h[hdrCount:])), nil
}

// freelist checks the freelist page id and returns where its page ids
// start and how many there are. The ids are checked to be below the
// high-water mark; whether they are in use is checked after the walk.
func (c *checker) freelist(id uint64) (off, count uint64, err error) {
	base, end, flags, count, err := c.header(id, "freelist")
	if err != nil {
		return 0, 0, err
	}
	if flags != freelistPageFlag {
		return 0, 0, fmt.Errorf("%w: freelist page %d: unexpected page flags %#x", ErrCorrupt, id, flags)
	}
	off = base + pageHeaderSize
	if count == freelistOverflow {
		count = ne.Uint64(c.data[off:])
		off += 8
	}
	if count > (end-off)/8 {
		return 0, 0, fmt.Errorf("%w: freelist page %d: %d ids do not fit in the page", ErrCorrupt, id, count)
	}
	for i := uint64(0); i < count; i++ {
		if f := ne.Uint64(c.data[off+8*i:]); f < 2 || f >= c.hwm {
			return 0, 0, fmt.Errorf("%w: freelist page %d: free page id %d outside [2, %d)", ErrCorrupt, id, f, c.hwm)
		}
	}
	return off, count, nil
}

// key is the position of a key in data; n == 0 means no key (keys are
// never empty).
type key struct{ off, n uint64 }

// bounds is what a page's parent requires of it.
type bounds struct {
	first, limit key  // its first key and the key all of its keys are below
	top          bool // it is in the root bucket, which holds only buckets
}

func (c *checker) bytes(k key) []byte { return c.data[k.off : k.off+k.n] }

// page checks the branch or leaf page id and everything below it. A page
// reached from a branch element must start with that element's key
// (b.first) and hold only keys below the next element's key (b.limit):
// bbolt finds a page's element in its parent by the page's first key when
// it writes the page back, and would leave a second, dangling reference
// behind if they differed. A bucket's root page has neither.
func (c *checker) page(id uint64, depth int, b bounds) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: page %d: more than %d levels of pages and buckets", ErrCorrupt, id, maxDepth)
	}
	base, end, flags, count, err := c.header(id, "tree")
	if err != nil {
		return err
	}
	if err := checkTreePage(id, flags, count, b); err != nil {
		return err
	}
	return c.elements(span{id: id, base: base, end: end, count: count, leaf: flags == leafPageFlag}, b, depth)
}

// checkTreePage checks the kind and element count of page id of a tree, below
// a parent that requires b of it.
func checkTreePage(id uint64, flags uint16, count uint64, b bounds) error {
	switch flags {
	case branchPageFlag:
		if count == 0 {
			// bbolt would read a child id from past the element array.
			return fmt.Errorf("%w: page %d: branch page without elements", ErrCorrupt, id)
		}
	case leafPageFlag:
		if count == 0 && b.first.n != 0 {
			return fmt.Errorf("%w: page %d: empty leaf page below a branch", ErrCorrupt, id)
		}
	default:
		return fmt.Errorf("%w: page %d: unexpected page flags %#x", ErrCorrupt, id, flags)
	}
	return nil
}

// span is a branch or leaf page: a page of the file, or an inline
// bucket's page inside a value, at [base, end).
type span struct {
	id        uint64 // the page, or the page holding the inline bucket
	base, end uint64
	count     uint64
	leaf      bool
	inline    bool
}

func (p span) elem(i uint64) uint64 { return p.base + pageHeaderSize + i*elemSize }

func (p span) note() string {
	if p.inline {
		return " inline bucket:"
	}
	return ""
}

// elements checks the element array of p, its keys and values, and what
// they lead to: the children of a branch page, each bounded by its own
// key and the next one, and the buckets in a leaf.
func (c *checker) elements(p span, b bounds, depth int) error {
	last, err := walkElements(c.data, p, b, func(i, e uint64, k, prev key, vsize uint64) error {
		if !p.leaf {
			// A child is checked once the next key, its limit, is known.
			if i > 0 {
				return c.page(ne.Uint64(c.data[e-elemSize+8:]), depth+1, bounds{prev, k, b.top})
			}
			return nil
		}
		if ne.Uint32(c.data[e:])&bucketLeafFlag != 0 {
			return c.bucket(p.id, i, k.off+k.n, vsize, depth+1)
		}
		if b.top {
			// bbolt offers no way to store one; callers expect buckets.
			return fmt.Errorf("%w: page %d: element %d: top-level entry is not a bucket", ErrCorrupt, p.id, i)
		}
		return nil
	})
	if err != nil || p.count == 0 || p.leaf {
		return err
	}
	return c.page(ne.Uint64(c.data[p.elem(p.count-1)+8:]), depth+1, bounds{last, b.limit, b.top})
}

// walkElements checks the element array of p and its keys and values,
// calling fn for each element once its own checks pass, and returns the
// last key. Each element's key and value must lie inside the page, after
// the element array and after the previous element's data, as bbolt lays
// them out; disallowing overlap also keeps the work linear for nested
// inline buckets. Keys must be non-empty, in strictly increasing order,
// start with b.first and stay below b.limit, as far as those are given.
func walkElements(data []byte, p span, b bounds, fn func(i, e uint64, k, prev key, vsize uint64) error) (key, error) {
	bytesOf := func(k key) []byte { return data[k.off : k.off+k.n] }
	next := p.elem(p.count)
	if next > p.end {
		return key{}, fmt.Errorf("%w: page %d:%s %d elements do not fit", ErrCorrupt, p.id, p.note(), p.count)
	}
	var prev key
	for i := range p.count {
		e := p.elem(i)
		el := data[e : e+elemSize]
		var k key
		var vsize uint64
		if p.leaf {
			k = key{e + uint64(ne.Uint32(el[4:])), uint64(ne.Uint32(el[8:]))}
			vsize = uint64(ne.Uint32(el[12:]))
		} else {
			k = key{e + uint64(ne.Uint32(el)), uint64(ne.Uint32(el[4:]))}
		}
		switch {
		case k.n == 0:
			return key{}, fmt.Errorf("%w: page %d:%s element %d has an empty key", ErrCorrupt, p.id, p.note(), i)
		case k.off < next:
			return key{}, fmt.Errorf("%w: page %d:%s element %d overlaps other data", ErrCorrupt, p.id, p.note(), i)
		case k.off+k.n+vsize > p.end:
			return key{}, fmt.Errorf("%w: page %d:%s element %d key or value out of bounds", ErrCorrupt, p.id, p.note(), i)
		}
		next = k.off + k.n + vsize
		kb := bytesOf(k)
		if i == 0 {
			if b.first.n != 0 && !bytes.Equal(kb, bytesOf(b.first)) {
				return key{}, fmt.Errorf("%w: page %d: first key differs from the key in its parent", ErrCorrupt, p.id)
			}
		} else if bytes.Compare(bytesOf(prev), kb) >= 0 {
			return key{}, fmt.Errorf("%w: page %d:%s element %d: keys out of order", ErrCorrupt, p.id, p.note(), i)
		}
		if err := fn(i, e, k, prev, vsize); err != nil {
			return key{}, err
		}
		prev = k
	}
	if p.count > 0 && b.limit.n != 0 && bytes.Compare(bytesOf(prev), bytesOf(b.limit)) >= 0 {
		return key{}, fmt.Errorf("%w: page %d: keys beyond the range its parent gives it", ErrCorrupt, p.id)
	}
	return prev, nil
}

// bucket checks the bucket value of element i of page id, at off with
// length n: a bucket header, then either a root page id or, for an inline
// bucket (root 0), a leaf page that must lie inside the value.
func (c *checker) bucket(id, i, off, n uint64, depth int) error {
	if n < bucketHeaderSize {
		return fmt.Errorf("%w: page %d: element %d: bucket value too short", ErrCorrupt, id, i)
	}
	if root := ne.Uint64(c.data[off:]); root != 0 {
		return c.page(root, depth, bounds{})
	}
	if depth > maxDepth {
		return fmt.Errorf("%w: page %d: more than %d levels of pages and buckets", ErrCorrupt, id, maxDepth)
	}
	base, end := off+bucketHeaderSize, off+n
	if end-base < pageHeaderSize {
		return fmt.Errorf("%w: page %d: element %d: inline bucket too short", ErrCorrupt, id, i)
	}
	h := c.data[base : base+pageHeaderSize]
	if flags := ne.Uint16(h[hdrFlags:]); flags != leafPageFlag {
		// bbolt would follow a branch page's children to page 0 forever.
		return fmt.Errorf("%w: page %d: element %d: inline bucket page flags %#x", ErrCorrupt, id, i, flags)
	}
	return c.elements(span{id: id, base: base, end: end, count: uint64(ne.Uint16(h[hdrCount:])), leaf: true, inline: true}, bounds{}, depth)
}
