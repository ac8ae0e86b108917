package main

import (
	"io"

	"filippo.io/age/armor"
)

// writeArmored writes an age file in age's ASCII armor, which the stock age
// tool reads and a terminal shows safely.
func writeArmored(w io.Writer, ct []byte) error {
	aw := armor.NewWriter(w)
	if _, err := aw.Write(ct); err != nil {
		return err
	}
	return aw.Close()
}
