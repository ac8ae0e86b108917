package main

import (
	"bytes"
	"testing"

	"github.com/mutual-aid-vault/vault/vault"
)

// TestPrintJSONList: the streamed list is byte for byte what encoding the
// whole list writes.
func TestPrintJSONList(t *testing.T) {
	for _, list := range [][]vault.Secret{nil, {{Name: "a"}}, {{Name: "a", SharedWith: []string{"b"}}, {Name: "c", Note: "x\ny"}}} {
		var want, got bytes.Buffer
		a := &app{stdout: &want}
		v := list
		if v == nil {
			v = []vault.Secret{}
		}
		if err := a.printJSON(v); err != nil {
			t.Fatal(err)
		}
		if err := printJSONList(&got, list); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("streamed:\n%s\nwhole:\n%s", got.String(), want.String())
		}
	}
}
