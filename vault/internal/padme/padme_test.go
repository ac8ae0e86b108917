package padme

import "testing"

func TestSize(t *testing.T) {
	tests := []struct{ n, floor, want int }{
		{0, 512, 512},
		{1, 512, 512},
		{512, 512, 512},
		{513, 512, 544},   // E=9, S=4: multiples of 32
		{1000, 512, 1024}, // E=9
		{1024, 512, 1024},
		{1025, 512, 1088}, // E=10, S=4: multiples of 64
		{2100, 1024, 2176},
		{65536 + 1, 1024, 65536 + 2048}, // E=16, S=5: multiples of 2048
		{100, 0, 104},                   // E=6, S=3: multiples of 8
		{7, 0, 7},                       // E=2, S=2: multiples of 1
	}
	for _, tt := range tests {
		if got := Size(tt.n, tt.floor); got != tt.want {
			t.Errorf("Size(%d, %d) = %d, want %d", tt.n, tt.floor, got, tt.want)
		}
	}
}

// TestSizeBounds checks, for every size up to 1 MiB, that the padded size
// is at least the size, at most 12% more, and a fixed point (a padded size
// is its own class), and that classes are monotonic.
func TestSizeBounds(t *testing.T) {
	prev := 0
	for n := 1; n <= 1<<20; n++ {
		p := Size(n, 0)
		if p < n || float64(p) > float64(n)*1.12+1 || Size(p, 0) != p || p < prev {
			t.Fatalf("Size(%d) = %d (previous %d)", n, p, prev)
		}
		prev = p
	}
}
