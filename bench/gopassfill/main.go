// Command gopassfill fills a gopass store that uses the age backend with the
// benchmark's secrets, as 'gopass insert' would write them, in seconds
// instead of one gopass process per secret (about 90 ms each, so a quarter
// of an hour at 10,000).
//
//	go run ./bench/gopassfill -store DIR [-secrets 1000]
//
// DIR must be a store made by 'gopass init --crypto age --storage fs': its
// .age-recipients file lists the recipients. Secret i is DIR/secret-NNNN.age,
// a binary age file encrypted to every recipient, holding what
// 'printf "value-NNNN-abcdefghijklmnop\nusername: user\n" | gopass insert -f
// secret-NNNN' stores: the same names and values as bench/populate's vault.
// bench/compare.sh checks that gopass reads these files and that they have
// the size of the files gopass writes itself.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"filippo.io/age"
)

func main() {
	store := flag.String("store", "", "the gopass store's folder")
	secrets := flag.Int("secrets", 1000, "number of secrets")
	flag.Parse()
	if err := fill(*store, *secrets); err != nil {
		fmt.Fprintln(os.Stderr, "gopassfill:", err)
		os.Exit(1)
	}
}

// Plaintext is what gopass stores for secret i.
func plaintext(i int) []byte {
	return fmt.Appendf(nil, "value-%04d-abcdefghijklmnop\nusername: user\n", i)
}

func fill(store string, secrets int) error {
	if store == "" {
		return fmt.Errorf("-store is required")
	}
	f, err := os.Open(filepath.Join(store, ".age-recipients"))
	if err != nil {
		return fmt.Errorf("%s is not a gopass age store: %w", store, err)
	}
	rs, err := age.ParseRecipients(f)
	f.Close()
	if err != nil {
		return err
	}
	for i := range secrets {
		var buf bytes.Buffer
		w, err := age.Encrypt(&buf, rs...)
		if err != nil {
			return err
		}
		if _, err := w.Write(plaintext(i)); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		// gopass's fs storage writes files 0644 in 0700 folders.
		if err := os.WriteFile(filepath.Join(store, fmt.Sprintf("secret-%04d.age", i)), buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}
