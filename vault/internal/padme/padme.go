// Package padme rounds sizes up to the size classes of the PADMÉ scheme
// (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
// Communication with PURBs", PETS 2019), above a floor.
//
// PADMÉ keeps the exponent of a size and only its top bits: a size of
// 2^E to 2^(E+1) bytes is rounded up to a multiple of 2^(E-S), where S is
// the bit length of E. The padding is at most 12% (less as sizes grow),
// and a padded size reveals O(log log n) bits instead of the log n bits
// of the size itself. Powers of two would reveal only log log n bits, but
// double a file in the worst case. Below the floor, every size is padded
// to the floor: one class for everything small.
package padme

import "math/bits"

// Size returns the size n bytes are padded to: floor when n is at most
// floor, otherwise n rounded up to its PADMÉ class.
func Size(n, floor int) int {
	if n <= floor {
		return floor
	}
	e := bits.Len(uint(n)) - 1 // ⌊log2 n⌋
	s := bits.Len(uint(e))     // ⌊log2 e⌋ + 1
	mask := 1<<(e-s) - 1
	return (n + mask) &^ mask
}
