package importer

import (
	"strings"
	"testing"
	"time"
)

// Fuzz targets for every parser: any bytes parse or fail, never panic, and
// what parses holds no entry without a name or password.

func fuzzFormat(f *testing.F, format Format, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Add([]byte{})
	f.Add([]byte("\ufeff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := Parse(format, b)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("a multi-line error: %q", err)
			}
			return
		}
		for _, e := range res.Entries {
			if e.Name == "" || e.Password == "" {
				t.Fatalf("an entry without a name or password: %+v", e)
			}
		}
	})
}

func FuzzImportCSV(f *testing.F) {
	fuzzFormat(f, CSV, sampleCSV, "name,password\nx,\"y\n", "name,password\n\"a\"\"b\",c,d\n")
}

func FuzzImportBitwardenCSV(f *testing.F) {
	fuzzFormat(f, BitwardenCSV, sampleBitwardenCSV)
}

func FuzzImportBitwardenJSON(f *testing.F) {
	fuzzFormat(f, BitwardenJSON, sampleBitwardenJSON, `{"encrypted":true}`, `{"items":[{"type":1,"login":null}]}`)
}

func FuzzImportOnePasswordCSV(f *testing.F) {
	fuzzFormat(f, OnePasswordCSV, sampleOnePassword)
}

func FuzzImportKeePassXCCSV(f *testing.F) {
	fuzzFormat(f, KeePassXCCSV, sampleKeePassXC, "\"Group\",\"Title\",\"Password\"\n\"\",\"x\",\"y\"\n")
}

func FuzzImportPass(f *testing.F) {
	f.Add("x", []byte("pw\nuser: a\nurl: b\notpauth://totp/x?secret=A\nnote\n"))
	f.Add("a/b", []byte("\r\n"))
	f.Fuzz(func(t *testing.T, name string, b []byte) {
		res := Pass(name, b, time.Time{})
		if len(res.Entries)+len(res.Skipped) != 1 {
			t.Fatalf("%d entries and %d skips for one pass entry", len(res.Entries), len(res.Skipped))
		}
		for _, e := range res.Entries {
			if e.Password == "" || strings.ContainsAny(e.Password, "\n") {
				t.Fatalf("a password that is not the first line: %q", e.Password)
			}
		}
	})
}
