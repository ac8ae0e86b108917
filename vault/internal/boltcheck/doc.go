// Package boltcheck validates the on-disk structure of a bbolt file before
// bbolt is allowed to open it.
//
// bbolt trusts its file: a truncated or damaged file can make it fault on
// its memory mapping, recurse until the stack overflows, loop, or allocate
// absurd amounts of memory, and some of these are fatal errors that no
// recover can catch. [Check] reads the file's bytes the way bbolt would —
// the meta pages and the page size, the high-water mark, the freelist and
// every page of every bucket's B+tree, inline buckets included — and
// rejects anything that would let bbolt read outside the file, follow a
// cycle or a shared page, or size an allocation from garbage. It also
// checks the key order bbolt relies on when it writes pages back, so that
// an update cannot turn an accepted file into a broken one. A file without
// a freelist is refused: bbolt's read-write open would rebuild one by
// walking the tree in a goroutine of its own, where a fault is fatal, and
// write it before the caller could do anything. It runs in time and
// memory linear in the file's size and does not panic.
//
// A check is worth what it checked: the caller must hand bbolt the very
// file it checked (an open descriptor, through bbolt's Options.OpenFile),
// not a path that may name another file by then.
//
// The check is structural only: it does not look at what keys and values
// contain. A byte changed inside a value passes unnoticed; the caller's
// encryption and authentication of values must catch that.
package boltcheck
