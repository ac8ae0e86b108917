package agentwire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, req := range []Request{
		{Op: OpHello},
		{Op: OpStatus},
		{Op: OpLock},
		{Op: OpSign, Message: []byte("body")},
		{Op: OpUnwrap, Stanzas: []Stanza{{Type: "X25519", Args: []string{"abc"}, Body: []byte{1, 2, 3}}}},
	} {
		t.Run(req.Op, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteFrame(&buf, req); err != nil {
				t.Fatal(err)
			}
			b, err := ReadFrame(&buf, MaxRequest)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeRequest(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, req) {
				t.Fatalf("got %+v, want %+v", got, req)
			}
		})
	}
}

func TestBounds(t *testing.T) {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], MaxRequest+1)
	if _, err := ReadFrame(bytes.NewReader(hdr[:]), MaxRequest); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized frame: %v", err)
	}
	many := Request{Op: OpUnwrap, Stanzas: make([]Stanza, MaxStanzas+1)}
	for i := range many.Stanzas {
		many.Stanzas[i].Type = "X25519"
	}
	for name, req := range map[string]Request{
		"too many stanzas": many,
		"no stanzas":       {Op: OpUnwrap},
		"long body":        {Op: OpUnwrap, Stanzas: []Stanza{{Type: "X", Body: make([]byte, MaxBody+1)}}},
		"long arg":         {Op: OpUnwrap, Stanzas: []Stanza{{Type: "X", Args: []string{strings.Repeat("a", MaxArg+1)}}}},
		"many args":        {Op: OpUnwrap, Stanzas: []Stanza{{Type: "X", Args: make([]string, MaxArgs+1)}}},
		"long message":     {Op: OpSign, Message: make([]byte, MaxMessage+1)},
		"unknown op":       {Op: "export-key"},
		"hello with args":  {Op: OpHello, Message: []byte("x")},
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			WriteFrame(&buf, req)
			b, err := ReadFrame(&buf, MaxRequest*2)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := DecodeRequest(b); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// FuzzDecodeRequest: any frame decodes to a request within the limits or
// fails; never panics.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"op":"hello"}`))
	f.Add([]byte(`{"op":"sign","msg":"Ym9keQ=="}`))
	f.Add([]byte(`{"op":"unwrap","stanzas":[{"type":"X25519","args":["a"],"body":"AQID"}]}`))
	f.Add([]byte(`{"op":"unwrap","stanzas":[]}`))
	f.Add([]byte{0, 0, 0, 3, '{', '}', '}'})
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ReadFrame(bytes.NewReader(b), 1<<10); err != nil {
			_ = err
		}
		req, err := DecodeRequest(b)
		if err != nil {
			return
		}
		if len(req.Stanzas) > MaxStanzas || len(req.Message) > MaxMessage {
			t.Fatalf("decoded past the limits: %d stanzas, %d bytes", len(req.Stanzas), len(req.Message))
		}
		for _, s := range req.Stanzas {
			if len(s.Body) > MaxBody || len(s.Args) > MaxArgs {
				t.Fatal("stanza past the limits")
			}
		}
	})
}
