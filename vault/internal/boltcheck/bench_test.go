package boltcheck

import "testing"

// BenchmarkCheck checks a file of 1000 small records and 1000 values of
// 2 KB (4 MB of 4 KiB pages), the size of a large vault.
func BenchmarkCheck(b *testing.B) {
	data := fixtureBench(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Check(data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(parse(b, data).hwm), "pages")
}
