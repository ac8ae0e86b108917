package boltcheck

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	seedFlag  = flag.Uint64("boltcheck.seed", 0, "seed for TestRandomCorruption (0: from the clock)")
	casesFlag = flag.Int("boltcheck.cases", 0, "number of cases for TestRandomCorruption (0: default)")
)

// maxSteps bounds the cursor steps of one probe walk; the fixtures have a
// few thousand keys.
const maxSteps = 1_000_000

var errTooManySteps = errors.New("walk did not terminate")

// probeSink keeps the probe's reads of keys and values from being
// optimized away.
var probeSink atomic.Uint32

// probeResult is what bbolt did with a file Check accepted.
type probeResult struct {
	openErr error // read-only open failed (an error, not a crash)
	panics  int   // panics (faults included) recovered from bbolt
	first   any   // the first of them
	hung    bool  // the probe did not finish in time
	walkErr error // the walk did not terminate
	updErr  error // the update failed (an error, not a crash)
	// recheckErr is Check's verdict on the file bbolt wrote: what bbolt
	// writes to a file Check accepts must be accepted again.
	recheckErr error
	steps      int    // cursor steps taken
	last       string // stage reached
}

var probeSeq atomic.Int64

// probe writes data to a file in dir and has bbolt open it read-only and
// walk every bucket, key and value forwards and backwards, run bbolt's own
// consistency check, then open it read-write and commit a small update,
// and checks the result again. Panics and memory faults are recovered and
// counted; anything that does not finish within a generous time is
// reported as hung.
func probe(tb testing.TB, dir string, data []byte) probeResult {
	tb.Helper()
	path := filepath.Join(dir, fmt.Sprintf("probe-%d.db", probeSeq.Add(1)))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	defer os.Remove(path)

	done := make(chan probeResult, 1)
	go func() {
		debug.SetPanicOnFault(true)
		var r probeResult
		guard := func(stage string, fn func()) {
			r.last = stage
			defer func() {
				if p := recover(); p != nil {
					if r.panics == 0 {
						r.first = fmt.Sprintf("%s: %v", stage, p)
					}
					r.panics++
				}
			}()
			fn()
		}
		guard("read", func() { r.openErr, r.walkErr, r.steps = walkFile(path) })
		guard("update", func() { r.updErr = updateFile(path) })
		if after, err := os.ReadFile(path); err == nil && !bytes.Equal(after, data) {
			r.recheckErr = Check(after)
		}
		done <- r
	}()
	select {
	case r := <-done:
		return r
	case <-time.After(20 * time.Second):
		return probeResult{hung: true}
	}
}

// walkFile opens path read-only and reads everything in it.
func walkFile(path string) (openErr, walkErr error, steps int) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return err, nil, 0
	}
	defer db.Close()
	var sink byte
	defer func() { probeSink.Store(uint32(sink)) }()
	touch := func(b []byte) {
		for i := 0; i < len(b); i += 256 {
			sink ^= b[i]
		}
		if len(b) > 0 {
			sink ^= b[len(b)-1]
		}
	}
	var walk func(b *bolt.Bucket, depth int) error
	walk = func(b *bolt.Bucket, depth int) error {
		if depth > 200 {
			return errTooManySteps
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if steps++; steps > maxSteps {
				return errTooManySteps
			}
			touch(k)
			touch(v)
			touch(b.Get(k))
			if v == nil {
				if child := b.Bucket(k); child != nil {
					_ = child.Sequence()
					if err := walk(child, depth+1); err != nil {
						return err
					}
				}
			}
		}
		for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
			if steps++; steps > maxSteps {
				return errTooManySteps
			}
			touch(k)
		}
		_ = b.Stats()
		return nil
	}
	walkErr = db.View(func(tx *bolt.Tx) error {
		if err := tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			touch(name)
			if b == nil {
				// Keys out of order: bbolt cannot find the bucket by name.
				return nil
			}
			return walk(b, 0)
		}); err != nil {
			return err
		}
		for range tx.Check() {
			// bbolt's own checker may find key-order problems; fine.
		}
		return nil
	})
	if errors.Is(walkErr, errTooManySteps) {
		return nil, walkErr, steps
	}
	return nil, nil, steps
}

// updateFile opens path read-write and commits one put and one delete.
func updateFile(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoSync: true, NoGrowSync: true})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Update(func(tx *bolt.Tx) error {
		c := tx.Cursor()
		name, _ := c.First()
		if name == nil {
			_, err := tx.CreateBucket([]byte("boltcheck-probe"))
			return err
		}
		b := tx.Bucket(name)
		if b == nil {
			return nil
		}
		if k, v := b.Cursor().First(); k != nil && v != nil {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return b.Put([]byte("boltcheck-probe"), []byte("x"))
	})
}

// TestRandomCorruption damages a real multi-level file at random. Whenever
// Check accepts the result, bbolt must be able to read and update it
// without a crash or hang; recovered panics are counted and logged.
func TestRandomCorruption(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (reproduce with -boltcheck.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x626f6c74))

	base := fixtureMulti(t)
	f := parse(t, base)
	// Offsets of structure: meta pages, page headers and element arrays
	// of every tree page, the freelist page's header and first ids.
	var hot []uint64
	for i := range uint64(2) {
		for o := f.metaOff(i) - pageHeaderSize; o < f.metaOff(i)+metaSize; o++ {
			hot = append(hot, o)
		}
	}
	for _, p := range f.pages() {
		end := f.base(p.id) + pageHeaderSize + uint64(f.count(p.id))*elemSize
		for o := f.base(p.id); o < end; o++ {
			hot = append(hot, o)
		}
	}
	for _, b := range f.buckets() {
		for o := b.value; o < b.value+min(b.vsize, 64); o++ {
			hot = append(hot, o)
		}
	}
	for o := f.base(f.freelist); o < f.base(f.freelist)+64; o++ {
		hot = append(hot, o)
	}

	cases := 2500
	if raceEnabled || testing.Short() {
		cases = 1000
	}
	if *casesFlag > 0 {
		cases = *casesFlag
	}
	dir := t.TempDir()
	var accepted, panics, rejected int
	byErr := map[string]int{}
	for i := range cases {
		data := bytes.Clone(base)
		kind := rng.IntN(5)
		switch kind {
		case 0: // a few random bytes anywhere
			for range 1 + rng.IntN(4) {
				data[rng.IntN(len(data))] = byte(rng.Uint32())
			}
		case 1: // bits in structure
			for range 1 + rng.IntN(3) {
				data[hot[rng.IntN(len(hot))]] ^= 1 << rng.IntN(8)
			}
		case 2: // a whole integer in structure set to something plausible
			o := hot[rng.IntN(len(hot))]
			o &^= 3
			v := []uint64{0, 1, 2, f.root, f.freelist, f.hwm - 1, f.hwm, uint64(rng.IntN(int(f.hwm))), 0xFFFF, 0xFFFFFFFF, rng.Uint64()}[rng.IntN(11)]
			if rng.IntN(2) == 0 && o+8 <= uint64(len(data)) {
				ne.PutUint64(data[o:], v)
			} else {
				ne.PutUint32(data[o:], uint32(v))
			}
		case 3: // truncation
			data = data[:rng.IntN(len(data)+1)]
		case 4: // truncation past the high-water mark plus damage
			data = data[:int(f.hwm*f.psz)+rng.IntN(len(data)-int(f.hwm*f.psz)+1)]
			data[hot[rng.IntN(len(hot))]] ^= 1 << rng.IntN(8)
		}
		err := Check(data)
		if errors.Is(err, errInternal) {
			t.Fatalf("case %d: Check hit an internal error", i)
		}
		if err != nil {
			rejected++
			switch {
			case errors.Is(err, ErrNotBolt):
				byErr["not bolt"]++
			case errors.Is(err, ErrTruncated):
				byErr["truncated"]++
			case errors.Is(err, ErrCorrupt):
				byErr["corrupt"]++
			default:
				t.Fatalf("case %d: error wraps no sentinel: %v", i, err)
			}
			continue
		}
		accepted++
		r := probe(t, dir, data)
		if d := os.Getenv("BOLTCHECK_DUMP"); d != "" && (r.hung || r.walkErr != nil || r.recheckErr != nil || r.panics > 0) {
			// Keep the file for a closer look.
			_ = os.WriteFile(filepath.Join(d, fmt.Sprintf("case-%d.db", i)), data, 0o600)
		}
		switch {
		case r.hung:
			t.Fatalf("case %d (kind %d): bbolt hung on a file Check accepted", i, kind)
		case r.walkErr != nil:
			t.Fatalf("case %d (kind %d): walk after Check: %v (%d steps)", i, kind, r.walkErr, r.steps)
		case r.recheckErr != nil:
			t.Fatalf("case %d (kind %d): bbolt updated an accepted file into one Check rejects: %v", i, kind, r.recheckErr)
		case r.panics > 0:
			panics += r.panics
			t.Logf("case %d (kind %d): bbolt panicked (recovered): %v", i, kind, r.first)
		}
	}
	t.Logf("%d cases: %d rejected %v, %d accepted and probed with bbolt, %d recovered panics", cases, rejected, byErr, accepted, panics)
}

// FuzzCheck makes sure Check never panics and that bbolt can read and
// update every file it accepts.
func FuzzCheck(f *testing.F) {
	f.Add(fixtureEmpty(f))
	f.Add(fixtureInline(f))
	f.Add(fixtureMulti(f))
	f.Add(build(f, &bolt.Options{PageSize: 1024}, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		if err := putKeys(b, 40, "k%03d", 10); err != nil {
			return err
		}
		_, err = b.CreateBucket([]byte("inner"))
		return err
	}))
	f.Add([]byte{})
	f.Add([]byte("age-encryption.org/v1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := Check(data)
		if errors.Is(err, errInternal) {
			t.Fatalf("Check hit an internal error")
		}
		if err != nil {
			if !errors.Is(err, ErrNotBolt) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		r := probe(t, t.TempDir(), data)
		if r.hung || r.walkErr != nil || r.recheckErr != nil {
			t.Fatalf("bbolt on an accepted file: %+v", r)
		}
		if r.panics > 0 {
			t.Logf("bbolt panicked (recovered): %v", r.first)
		}
	})
}
