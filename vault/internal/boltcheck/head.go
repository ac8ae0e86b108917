package boltcheck

import (
	"fmt"
	"io"
)

// Head identifies the state of a bbolt file: the transaction its chosen
// meta page records, and that page's checksum.
type Head struct {
	TxID     uint64
	Checksum uint64
}

// CheckHead validates, reading through r, what bbolt reads of a file of
// size bytes as it opens it for writing, before anything else: the meta
// pages, the high-water mark against the file's length, and the freelist
// page (the count it allocates by, and that every id is in range). It reads
// a few pages, not the file, and returns the meta page bbolt will use.
//
// It does not make a file safe to open with bbolt: bbolt's read-write open
// starts a transaction (and reads the root's pages) itself. Only [Check],
// run on the very file bbolt then opens, does. A file without a freelist
// is refused, as by Check.
// Errors wrap [ErrNotBolt], [ErrTruncated] or [ErrCorrupt].
func CheckHead(r io.ReaderAt, size int64) (h Head, err error) {
	defer func() {
		if rec := recover(); rec != nil {
			h, err = Head{}, fmt.Errorf("%w: %w", ErrCorrupt, errInternal)
		}
	}()
	if size <= 0 {
		return Head{}, fmt.Errorf("%w: empty file", ErrTruncated)
	}
	n := uint64(size)
	// Page sizes are at most 64 KiB, so both meta pages lie in the first
	// 128 KiB, wherever bbolt looks for the second.
	head, err := readAt(r, 0, min(n, 2*maxPageSize+metaNeeds))
	if err != nil {
		return Head{}, err
	}
	psz, err := pageSize(head)
	if err != nil {
		return Head{}, err
	}
	if n < 2*psz {
		return Head{}, fmt.Errorf("%w: %d bytes, shorter than two %d-byte meta pages", ErrTruncated, n, psz)
	}
	m, err := pickMeta(head, psz, n)
	if err != nil {
		return Head{}, err
	}
	h = Head{TxID: m.txid, Checksum: m.checksum}
	if m.freelist == noFreelist {
		// bbolt would walk the whole tree to rebuild it, in a goroutine
		// where a fault is fatal, before [Check] could run.
		return Head{}, errNoFreelist
	}
	id, hwm := m.freelist, m.pgid
	if id < 2 || id >= hwm {
		return Head{}, fmt.Errorf("%w: freelist page id %d outside [2, %d)", ErrCorrupt, id, hwm)
	}
	ph, err := readAt(r, id*psz, pageHeaderSize)
	if err != nil {
		return Head{}, err
	}
	overflow := uint64(ne.Uint32(ph[hdrOverflow:]))
	switch {
	case overflow >= hwm-id:
		return Head{}, fmt.Errorf("%w: page %d: %d overflow pages run past the high-water mark %d", ErrCorrupt, id, overflow, hwm)
	case ne.Uint64(ph) != id:
		return Head{}, fmt.Errorf("%w: page %d: header says page %d", ErrCorrupt, id, ne.Uint64(ph))
	case ne.Uint16(ph[hdrFlags:]) != freelistPageFlag:
		return Head{}, fmt.Errorf("%w: freelist page %d: unexpected page flags %#x", ErrCorrupt, id, ne.Uint16(ph[hdrFlags:]))
	}
	page, err := readAt(r, id*psz, (overflow+1)*psz)
	if err != nil {
		return Head{}, err
	}
	off, count := uint64(pageHeaderSize), uint64(ne.Uint16(page[hdrCount:]))
	if count == freelistOverflow {
		count = ne.Uint64(page[off:])
		off += 8
	}
	if count > (uint64(len(page))-off)/8 {
		return Head{}, fmt.Errorf("%w: freelist page %d: %d ids do not fit in the page", ErrCorrupt, id, count)
	}
	for i := uint64(0); i < count; i++ {
		if f := ne.Uint64(page[off+8*i:]); f < 2 || f >= hwm {
			return Head{}, fmt.Errorf("%w: freelist page %d: free page id %d outside [2, %d)", ErrCorrupt, id, f, hwm)
		}
	}
	return h, nil
}

// readAt reads exactly n bytes at off, or says the file is truncated.
func readAt(r io.ReaderAt, off, n uint64) ([]byte, error) {
	b := make([]byte, n)
	got, err := r.ReadAt(b, int64(off))
	if uint64(got) == n {
		return b, nil
	}
	if err == nil || err == io.EOF {
		return nil, fmt.Errorf("%w: file ends inside page data at offset %d", ErrTruncated, off)
	}
	return nil, err
}
