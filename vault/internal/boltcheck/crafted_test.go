package boltcheck

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A crafted file is built byte by byte, not through bbolt: what an
// attacker hands over, with meta pages whose checksums are right, so that
// every field behind them (the root, the freelist, the high-water mark,
// page types and element arrays) is reached. Random flips of a real file
// almost never get past the meta checksum.

// craftPSZ is the page size of crafted files: small, so that the fuzzer's
// inputs stay small (a file is at least the 4 KiB bbolt reads first).
const craftPSZ = 1024

// leafElem is an element of a crafted leaf page.
type leafElem struct {
	bucket bool
	key    string
	value  []byte
}

// branchElem is an element of a crafted branch page.
type branchElem struct {
	key   string
	child uint64
}

// craft is a crafted file: pages by id, and the fields of both metas.
type craft struct {
	pages map[uint64][]byte
	hwm   uint64 // the metas' high-water mark
	size  uint64 // file length in pages (hwm when 0)
	metas [2]craftMeta
}

type craftMeta struct {
	root, freelist, pgid, txid uint64
	pageSize                   uint32
	badChecksum                bool
}

// newCraft returns the smallest sound file (5 KiB, more than the 4 KiB
// bbolt reads first) with a bucket "b" of its own
// root page holding two keys: meta pages 0 and 1, the freelist at 2
// (empty), the root bucket's leaf at 3, b's leaf at 4.
func newCraft() *craft {
	c := &craft{pages: map[uint64][]byte{}, hwm: 5}
	for i := range c.metas {
		c.metas[i] = craftMeta{root: 3, freelist: 2, pgid: 5, txid: uint64(i + 1), pageSize: craftPSZ}
	}
	c.pages[2] = freelistPage(2, nil)
	c.pages[3] = leafPage(3, leafElem{bucket: true, key: "b", value: bucketValue(4, nil)})
	c.pages[4] = leafPage(4, leafElem{key: "k1", value: []byte("v1")}, leafElem{key: "k2", value: []byte("v2")})
	return c
}

// setMeta sets a field of both metas.
func (c *craft) setMeta(fn func(m *craftMeta)) *craft {
	fn(&c.metas[0])
	fn(&c.metas[1])
	return c
}

func pageHeader(id uint64, flags uint16, count int, overflow uint32) []byte {
	h := make([]byte, pageHeaderSize)
	ne.PutUint64(h, id)
	ne.PutUint16(h[hdrFlags:], flags)
	ne.PutUint16(h[hdrCount:], uint16(count))
	ne.PutUint32(h[hdrOverflow:], overflow)
	return h
}

// leafPage lays out a leaf page as bbolt does: header, elements, then each
// element's key and value.
func leafPage(id uint64, elems ...leafElem) []byte {
	p := pageHeader(id, leafPageFlag, len(elems), 0)
	p = append(p, make([]byte, elemSize*len(elems))...)
	for i, e := range elems {
		off := pageHeaderSize + i*elemSize
		var flags uint32
		if e.bucket {
			flags = bucketLeafFlag
		}
		ne.PutUint32(p[off:], flags)
		ne.PutUint32(p[off+4:], uint32(len(p)-off))
		ne.PutUint32(p[off+8:], uint32(len(e.key)))
		ne.PutUint32(p[off+12:], uint32(len(e.value)))
		p = append(append(p, e.key...), e.value...)
	}
	return p
}

func branchPage(id uint64, elems ...branchElem) []byte {
	p := pageHeader(id, branchPageFlag, len(elems), 0)
	p = append(p, make([]byte, elemSize*len(elems))...)
	for i, e := range elems {
		off := pageHeaderSize + i*elemSize
		ne.PutUint32(p[off:], uint32(len(p)-off))
		ne.PutUint32(p[off+4:], uint32(len(e.key)))
		ne.PutUint64(p[off+8:], e.child)
		p = append(p, e.key...)
	}
	return p
}

func freelistPage(id uint64, ids []uint64) []byte {
	count := len(ids)
	p := pageHeader(id, freelistPageFlag, min(count, freelistOverflow), 0)
	if count >= freelistOverflow {
		p = ne.AppendUint64(p, uint64(count))
	}
	for _, f := range ids {
		p = ne.AppendUint64(p, f)
	}
	return p
}

// bucketValue is a bucket header (root, sequence 0), followed by an inline
// page when root is 0.
func bucketValue(root uint64, inline []byte) []byte {
	v := ne.AppendUint64(nil, root)
	v = ne.AppendUint64(v, 0)
	return append(v, inline...)
}

// bytes lays the file out: every page at id*craftPSZ, the metas with
// their checksums (or a broken one).
func (c *craft) bytes() []byte {
	size := c.size
	if size == 0 {
		size = c.hwm
	}
	data := make([]byte, size*craftPSZ)
	for id, p := range c.pages {
		if off := id * craftPSZ; off < uint64(len(data)) {
			copy(data[off:], p)
		}
	}
	for i, m := range c.metas {
		off := uint64(i) * craftPSZ
		copy(data[off:], pageHeader(uint64(i), 0x04, 0, 0))
		b := data[off+pageHeaderSize:]
		ne.PutUint32(b, magic)
		ne.PutUint32(b[metaVersion:], version)
		ne.PutUint32(b[metaPageSize:], m.pageSize)
		ne.PutUint64(b[metaRoot:], m.root)
		ne.PutUint64(b[metaFreelist:], m.freelist)
		ne.PutUint64(b[metaPgid:], m.pgid)
		ne.PutUint64(b[metaTxid:], m.txid)
		sum := fnv64a(b[:metaChecksum])
		if m.badChecksum {
			sum++
		}
		ne.PutUint64(b[metaChecksum:], sum)
	}
	return data
}

// crashFile is the file of issue 10: its metas say "no freelist" (with
// their checksums right) and bucket b's root is far outside the file.
// bbolt's read-write open rebuilds the freelist by walking the tree in a
// goroutine of its own and dies there with "fatal error: fault".
func crashFile() []byte {
	c := newCraft().setMeta(func(m *craftMeta) { m.freelist = noFreelist })
	c.pages[3] = leafPage(3, leafElem{bucket: true, key: "b", value: bucketValue(1<<20, nil)})
	return c.bytes()
}

// craftedFiles are crafted files of every kind the check must judge, by
// name. Some are sound; most are not.
func craftedFiles() map[string][]byte {
	files := map[string][]byte{}
	add := func(name string, c *craft) { files[name] = c.bytes() }
	add("sound", newCraft())
	files["crash"] = crashFile()
	add("no-freelist, sound tree", newCraft().setMeta(func(m *craftMeta) { m.freelist = noFreelist }))
	root := func(id uint64) *craft {
		c := newCraft()
		c.pages[3] = leafPage(3, leafElem{bucket: true, key: "b", value: bucketValue(id, nil)})
		return c
	}
	for name, id := range map[string]uint64{"meta 0": 0, "meta 1": 1, "freelist": 2, "itself": 3, "hwm": 5, "far": 1 << 40, "max": ^uint64(0)} {
		add("bucket root at "+name, root(id))
	}
	for name, id := range map[string]uint64{"meta 0": 0, "freelist": 2, "b's leaf": 4, "hwm": 5, "max": ^uint64(0)} {
		add("meta root at "+name, newCraft().setMeta(func(m *craftMeta) { m.root = id }))
	}
	for name, ids := range map[string][]uint64{
		"root listed":   {3},
		"leaf listed":   {4},
		"twice":         {4, 4},
		"meta listed":   {0},
		"beyond hwm":    {5},
		"huge id":       {^uint64(0)},
		"overflow form": make([]uint64, freelistOverflow),
	} {
		c := newCraft()
		c.pages[2] = freelistPage(2, ids)
		add("freelist "+name, c)
	}
	c := newCraft()
	c.pages[2] = pageHeader(2, freelistPageFlag, freelistOverflow, 0)
	c.pages[2] = ne.AppendUint64(c.pages[2], 1<<60) // a count from garbage
	add("freelist count from garbage", c)
	for name, id := range map[string]uint64{"root": 3, "meta": 0, "hwm": 5} {
		add("freelist page at "+name, newCraft().setMeta(func(m *craftMeta) { m.freelist = id }))
	}
	for name, flags := range map[string]uint16{"meta": 0x04, "freelist": freelistPageFlag, "none": 0, "branch|leaf": 3} {
		c := newCraft()
		h := c.pages[4]
		ne.PutUint16(h[hdrFlags:], flags)
		add("b's page typed "+name, c)
	}
	c = newCraft()
	c.pages[4] = branchPage(4)
	add("empty branch", c)
	c = newCraft()
	c.pages[4] = branchPage(4, branchElem{"k1", 4})
	add("branch to itself", c)
	c = newCraft()
	c.pages[4] = branchPage(4, branchElem{"k1", 3})
	add("branch to the root", c)
	c = newCraft()
	ne.PutUint32(c.pages[4][hdrOverflow:], 1000)
	add("overflow past hwm", c)
	c = newCraft()
	ne.PutUint16(c.pages[4][hdrCount:], 2000)
	add("count past the page", c)
	c = newCraft()
	inline := leafPage(0, leafElem{key: "x", value: []byte("y")})
	c.pages[3] = leafPage(3, leafElem{bucket: true, key: "b", value: bucketValue(0, inline)})
	add("inline bucket", c)
	c = newCraft()
	inline = branchPage(0, branchElem{"x", 0})
	c.pages[3] = leafPage(3, leafElem{bucket: true, key: "b", value: bucketValue(0, inline)})
	add("inline bucket typed branch", c)
	c = newCraft()
	c.pages[3] = leafPage(3, leafElem{bucket: true, key: "b", value: []byte{1, 2, 3}})
	add("bucket value too short", c)
	add("hwm past the file", newCraft().setMeta(func(m *craftMeta) { m.pgid = 50 }))
	add("hwm 2", newCraft().setMeta(func(m *craftMeta) { m.pgid = 2 }))
	for _, ps := range []uint32{0, 513, 1 << 17} {
		add(fmt.Sprintf("page size %d", ps), newCraft().setMeta(func(m *craftMeta) { m.pageSize = ps }))
	}
	c = newCraft()
	c.metas[1].badChecksum = true
	c.metas[0].root = 1 << 30
	add("meta 1 broken, meta 0 bad root", c)
	c = newCraft()
	c.metas[1].txid = 100
	c.metas[1].freelist = noFreelist
	c.pages[3] = leafPage(3, leafElem{bucket: true, key: "b", value: bucketValue(1<<20, nil)})
	add("newer meta without freelist", c)
	c = newCraft()
	c.size = 3
	add("file shorter than hwm", c)
	return files
}

// TestCraftedFiles: the check's verdict on each crafted file, and for each
// it accepts, bbolt reads and updates it without a panic or a hang.
func TestCraftedFiles(t *testing.T) {
	sound := map[string]bool{"sound": true, "inline bucket": true}
	for name, data := range craftedFiles() {
		t.Run(name, func(t *testing.T) {
			err := Check(data)
			if sound[name] != (err == nil) {
				t.Fatalf("Check = %v, want sound %v", err, sound[name])
			}
			if err != nil {
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrNotBolt) {
					t.Fatalf("error wraps no sentinel: %v", err)
				}
				return
			}
			if r := probe(t, t.TempDir(), data); r.hung || r.panics > 0 || r.openErr != nil || r.walkErr != nil || r.updErr != nil || r.recheckErr != nil {
				t.Fatalf("bbolt on an accepted file: %+v", r)
			}
		})
	}
}

// fixMetaChecksums recomputes the checksum of every meta page bbolt may
// read, so that a fuzzer's change to a meta field reaches what is behind
// it instead of failing the checksum.
func fixMetaChecksums(data []byte) {
	fix := func(off uint64) {
		if off+metaNeeds > uint64(len(data)) || ne.Uint32(data[off+pageHeaderSize:]) != magic {
			return
		}
		b := data[off+pageHeaderSize : off+metaNeeds]
		ne.PutUint64(b[metaChecksum:], fnv64a(b[:metaChecksum]))
	}
	fix(0)
	for i := range secondMetaTries {
		fix(uint64(secondMetaFirst) << i)
	}
}

// FuzzCraftedOpen asserts: whenever Check accepts a file, bbolt opens it,
// reads every bucket, key and value, and commits a write transaction
// without a crash, a recovered panic or a hang. Seeds are crafted files
// (meta pages, freelists, roots, page types) and real ones; the metas'
// checksums are fixed after the fuzzer's changes. A fatal fault in one of
// bbolt's goroutines kills the fuzzing process, which fails the run.
func FuzzCraftedOpen(f *testing.F) {
	for _, data := range craftedFiles() {
		f.Add(data)
	}
	f.Add(fixtureInline(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		fixMetaChecksums(data)
		err := Check(data)
		if errors.Is(err, errInternal) {
			t.Fatalf("Check hit an internal error")
		}
		if err != nil {
			return
		}
		r := probe(t, t.TempDir(), data)
		if r.hung || r.panics > 0 || r.walkErr != nil || r.recheckErr != nil {
			t.Fatalf("bbolt on an accepted file: %+v", r)
		}
	})
}

// crashChildEnv names the file a re-executed test binary opens with
// bbolt, and how.
const crashChildEnv = "BOLTCHECK_CRASH_CHILD"

// TestCrashFileChild is the child of TestCrashFile: it does nothing unless
// the parent set crashChildEnv. A crash here ends only this process.
func TestCrashFileChild(t *testing.T) {
	spec := os.Getenv(crashChildEnv)
	if spec == "" {
		t.Skip("run by TestCrashFile")
	}
	mode, path, _ := strings.Cut(spec, ":")
	if mode == "checked" {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := Check(data); err != nil {
			os.Stdout.WriteString("refused: " + err.Error() + "\n")
			return
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		os.Stdout.WriteString("open failed: " + err.Error() + "\n")
		return
	}
	db.Close()
	os.Stdout.WriteString("opened\n")
}

// TestCrashFile is the regression test of issue 10's crash file, run in a
// child process because the crash is fatal: bbolt's read-write open dies
// on it with a fault, and the check refuses it first.
func TestCrashFile(t *testing.T) {
	// The vault package's tests open the same file, kept in testdata.
	if kept, err := os.ReadFile(filepath.Join("testdata", "crash.db")); err != nil || !bytes.Equal(kept, crashFile()) {
		t.Fatalf("testdata/crash.db is not the crash file (%v)", err)
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	if err := os.WriteFile(path, crashFile(), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(mode string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashFileChild$", "-test.v")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+mode+":"+path)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// Unchecked, bbolt dies: the file still reproduces the crash.
	out, err := run("raw")
	if err == nil || !strings.Contains(out, "fatal error: fault") {
		t.Fatalf("bbolt opened the crash file unchecked without a fatal fault (err %v):\n%s", err, out)
	}
	// Checked first, it is refused with a clean error.
	out, err = run("checked")
	if err != nil || !strings.Contains(out, "refused: boltcheck: bbolt file corrupt") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if _, err := CheckHead(bytes.NewReader(crashFile()), int64(len(crashFile()))); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("CheckHead = %v, want %v", err, ErrCorrupt)
	}
}
