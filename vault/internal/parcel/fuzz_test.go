package parcel

import (
	"bytes"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse (what a message decrypts to
// is written by whoever made it): it returns an error or a parcel, never
// panics, and a parcel it accepts encodes back to exactly the bytes it
// came from and signs the same.
func FuzzParse(f *testing.F) {
	p := sample()
	p.Pad()
	good, _ := p.Encode()
	f.Add(good)
	bare := sample()
	bare.Name, bare.Username, bare.URL, bare.Note = "", "", "", ""
	b, _ := bare.Encode()
	f.Add(b)
	f.Add([]byte(Magic + "\n\n"))
	f.Add([]byte(Magic + "\nNote: a\n b\n\nv"))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := Parse(in)
		if err != nil {
			return
		}
		out, err := got.Encode()
		if err != nil {
			t.Fatalf("a parsed parcel does not encode: %v", err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("parsed and encoded again:\n%q\nfrom\n%q", out, in)
		}
		again, err := Parse(out)
		if err != nil || !bytes.Equal(again.Signed("r"), got.Signed("r")) {
			t.Fatalf("the parcel does not survive a second round: %v", err)
		}
	})
}
