package boltcheck

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var churnFlag = flag.Int("boltcheck.churn", 0, "transactions for TestAcceptsAfterChurn (0: default)")

// TestAcceptsAfterChurn makes sure Check accepts whatever bbolt writes:
// random puts, overwrites, deletes, bucket creations and deletions, over
// many transactions, with a check of the file after every commit.
func TestAcceptsAfterChurn(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (reproduce with -boltcheck.seed=%d)", seed, seed)
	txs := 80
	if raceEnabled || testing.Short() {
		txs = 30
	}
	if *churnFlag > 0 {
		txs = *churnFlag
	}
	for _, ps := range []int{1024, 4096} {
		t.Run(fmt.Sprint(ps), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "db")
			db, err := bolt.Open(path, 0o600, &bolt.Options{PageSize: ps, NoSync: true, NoGrowSync: true})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			c := churner{rng: rand.New(rand.NewPCG(seed, uint64(ps)))}
			for n := range txs {
				if err := db.Update(c.tx); err != nil {
					t.Fatalf("tx %d: %v", n, err)
				}
				c.commit()
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if err := Check(data); err != nil {
					t.Fatalf("tx %d: Check rejects what bbolt wrote: %v", n, err)
				}
				if n == txs-1 {
					t.Logf("%d buckets, %d bytes", len(c.buckets), len(data))
				}
			}
		})
	}
}

// churner makes random changes, keeping track of the buckets.
type churner struct {
	rng     *rand.Rand
	buckets []string // paths of buckets, names joined by "/"
	pending []string // the buckets as the current transaction leaves them
}

func (c *churner) commit() { c.buckets = c.pending }

func (c *churner) key() []byte {
	k := make([]byte, 1+c.rng.IntN(c.rng.IntN(80)+1))
	for i := range k {
		k[i] = "abcxyz\x00\xff"[c.rng.IntN(8)]
	}
	return k
}

func (c *churner) name() string { return fmt.Sprintf("b%d", c.rng.IntN(1000)) }

func (c *churner) value() []byte {
	sizes := []int{0, 1, 8, 30, 100, 500, 1500, 5000}
	return make([]byte, c.rng.IntN(sizes[c.rng.IntN(len(sizes))]+1))
}

func open(tx *bolt.Tx, path string) *bolt.Bucket {
	names := strings.Split(path, "/")
	b := tx.Bucket([]byte(names[0]))
	for _, n := range names[1:] {
		b = b.Bucket([]byte(n))
	}
	return b
}

func (c *churner) tx(tx *bolt.Tx) error {
	c.pending = slices.Clone(c.buckets)
	for range 1 + c.rng.IntN(40) {
		op := c.rng.IntN(30)
		if len(c.pending) == 0 || op < 3 {
			// A new bucket, top-level or nested.
			var err error
			path := c.name()
			if len(c.pending) == 0 || c.rng.IntN(3) == 0 {
				_, err = tx.CreateBucket([]byte(path))
			} else {
				parent := c.pending[c.rng.IntN(len(c.pending))]
				_, err = open(tx, parent).CreateBucket([]byte(path))
				path = parent + "/" + path
			}
			switch {
			case err == nil:
				c.pending = append(c.pending, path)
			case !errors.Is(err, berrors.ErrBucketExists) && !errors.Is(err, berrors.ErrIncompatibleValue):
				return err
			}
			continue
		}
		path := c.pending[c.rng.IntN(len(c.pending))]
		b := open(tx, path)
		switch {
		case op == 3 && c.rng.IntN(2) == 0:
			// Delete the bucket and all below it.
			i := strings.LastIndexByte(path, '/')
			var err error
			if i < 0 {
				err = tx.DeleteBucket([]byte(path))
			} else {
				err = open(tx, path[:i]).DeleteBucket([]byte(path[i+1:]))
			}
			if err != nil {
				return err
			}
			c.pending = slices.DeleteFunc(c.pending, func(p string) bool { return p == path || strings.HasPrefix(p, path+"/") })
		case op < 7:
			// Delete a run of keys.
			cur := b.Cursor()
			k, v := cur.Seek(c.key())
			for range c.rng.IntN(50) {
				if k == nil {
					break
				}
				if v != nil {
					if err := cur.Delete(); err != nil {
						return err
					}
				}
				k, v = cur.Next()
			}
		case op == 7:
			if _, err := b.NextSequence(); err != nil {
				return err
			}
		default:
			for range 1 + c.rng.IntN(20) {
				if err := b.Put(c.key(), c.value()); err != nil && !errors.Is(err, berrors.ErrIncompatibleValue) {
					return err
				}
			}
		}
	}
	return nil
}
