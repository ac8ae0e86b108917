package boltcheck

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// TestCheckHeadAgreesWithCheck: on real files and on damaged copies,
// CheckHead never accepts what Check rejects for a reason CheckHead is
// meant to see (meta pages, truncation, the freelist), and accepts every
// file Check accepts.
func TestCheckHeadAgreesWithCheck(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	for _, data := range [][]byte{fixtureMulti(t), fixtureNested(t), fixtureOverflow(t)} {
		if _, err := CheckHead(bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatalf("a sound file: %v", err)
		}
		for range 3000 {
			d := bytes.Clone(data)
			switch rng.IntN(3) {
			case 0:
				d = d[:rng.IntN(len(d))]
			default:
				// Damage the metas or the freelist most of the time.
				at := rng.IntN(len(d))
				if rng.IntN(2) == 0 {
					at = rng.IntN(min(len(d), 3*4096))
				}
				d[at] ^= byte(1 + rng.IntN(255))
			}
			full := Check(d)
			_, head := CheckHead(bytes.NewReader(d), int64(len(d)))
			if full == nil && head != nil {
				t.Fatalf("Check accepts what CheckHead rejects: %v", head)
			}
			if head == nil && full != nil && (errors.Is(full, ErrTruncated) || errors.Is(full, ErrNotBolt)) {
				t.Fatalf("CheckHead missed: %v", full)
			}
		}
	}
}

func FuzzCheckHead(f *testing.F) {
	f.Add(make([]byte, 8192))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = CheckHead(bytes.NewReader(b), int64(len(b)))
	})
}
