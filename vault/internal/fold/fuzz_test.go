package fold

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

// FuzzDecode feeds arbitrary payloads to every kind: each must decode and
// validate, or say why not; never panic. A payload that validates must
// describe a change the fold can apply without panicking.
func FuzzDecode(f *testing.F) {
	kinds := allKinds
	add, _ := Encode(KindSecretAdd, SecretAdd{Secret: SecretID{1}, Name: "x", Value: Value{Blob: Hash{1}, Readers: []MemberID{{1}}}})
	f.Add(uint8(8), add)
	edit, _ := Encode(KindMemberEdit, MemberEdit{Member: MemberID{1}})
	f.Add(uint8(2), edit)
	f.Add(uint8(9), []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 7})
	rekey, _ := Encode(KindMemberRekey, MemberRekey{Member: MemberID{1}, Age: "age1x", Sign: make([]byte, 32), Compromised: true,
		Grants: []Grant{{To: MemberID{1}, Blob: Hash{2}, Epochs: []EpochID{{3}}}}})
	f.Add(uint8(slices.Index(kinds, KindMemberRekey)), rekey)
	req, _ := Encode(KindRekeyRequest, RekeyRequest{Age: "age1x", Sign: make([]byte, 32)})
	f.Add(uint8(slices.Index(kinds, KindRekeyRequest)), req)
	f.Fuzz(func(t *testing.T, k uint8, raw []byte) {
		kind := kinds[int(k)%len(kinds)]
		p, err := Decode(kind, raw)
		if err != nil {
			return
		}
		if p == nil {
			t.Fatal("no payload and no error")
		}
	})
}

// FuzzSecretCodec: any bytes decode or fail; what decodes encodes back to
// the same bytes.
func FuzzSecretCodec(f *testing.F) {
	s := &Secret{ID: SecretID{1}, Name: "airtable", Share: Share{Members: []MemberID{{2}}, Groups: []string{"intake"}},
		Versions: []*Version{{Op: OpID{3}, N: 1, Blob: Hash{4}, Readers: []MemberID{{2}, {5}}, Rekeyed: []MemberID{{5}}, Aborted: &Stamp{By: MemberID{2}}}},
		Current:  OpID{3}, RotateNow: []Reason{{Text: "x", Who: []MemberID{{5}}}}, Wanted: []MemberID{{2}}}
	good, _ := s.MarshalBinary()
	f.Add(good)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Secret
		if err := s.UnmarshalBinary(b); err != nil {
			return
		}
		again, _ := s.MarshalBinary()
		var s2 Secret
		if err := s2.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		third, _ := s2.MarshalBinary()
		if string(third) != string(again) {
			t.Fatal("the codec is not stable")
		}
	})
}

// FuzzEventCodec: any bytes decode or fail; what decodes encodes back to
// the same bytes, and a real event survives the codec unchanged.
func FuzzEventCodec(f *testing.F) {
	ev := Event{Op: OpID{1, 2}, Pos: 7, At: time.Date(2026, 11, 27, 10, 0, 0, 5, time.UTC), Author: MemberID{3},
		Who: "alex", Kind: KindMemberRemove, Target: "kim", Summary: "alex removed kim", Rejected: "made concurrently with its author's removal"}
	good, _ := ev.MarshalBinary()
	var back Event
	if err := back.UnmarshalBinary(good); err != nil || back != ev {
		f.Fatalf("an event does not survive the codec: %v\n%+v\n%+v", err, ev, back)
	}
	f.Add(good)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev Event
		if err := ev.UnmarshalBinary(b); err != nil {
			return
		}
		again, _ := ev.MarshalBinary()
		var ev2 Event
		if err := ev2.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded event does not decode: %v", err)
		}
		if ev2 != ev {
			t.Fatal("the codec is not stable")
		}
	})
}

// FuzzAuthCodec: any bytes decode or fail; what decodes encodes back to
// the same bytes, and a real authority state survives the codec unchanged.
func FuzzAuthCodec(f *testing.F) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 5, time.UTC)
	a := &Auth{Vault: OpID{1}, Name: "mutual aid", Kind: "classic", Created: Stamp{At: at, By: MemberID{2}, Op: OpID{1}},
		Members: []*Member{
			{ID: MemberID{2}, Num: 1, Name: "alex", Age: "age1xyz", Sign: []byte{9, 9, 9}, Groups: []string{"intake", "cash"}, Admin: true, AdminSince: 1,
				Added: Stamp{At: at, By: MemberID{2}, Op: OpID{1}}, LastActive: at},
			{ID: MemberID{3}, Num: 2, Name: "kim", Age: "age1abc", Recovery: true, Added: Stamp{At: at, By: MemberID{2}, Op: OpID{4}},
				Removed: &Stamp{At: at.Add(time.Hour), By: MemberID{2}, Op: OpID{5}}},
			{ID: MemberID{4}, Num: 3, Name: "sam", Age: "age1new", Sign: []byte{7, 7}, Added: Stamp{At: at, By: MemberID{2}, Op: OpID{4}},
				Rekeyed: &Stamp{At: at, By: MemberID{2}, Op: OpID{8}},
				Request: &KeyRequest{Age: "age1newer", Sign: []byte{6, 6}, Made: Stamp{At: at, By: MemberID{4}, Op: OpID{9}}}},
		},
		Epoch: EpochID{7}, Epochs: []Epoch{{ID: EpochID{6}, Created: Stamp{At: at}}, {ID: EpochID{7}, Created: Stamp{At: at, By: MemberID{2}, Op: OpID{5}}}},
		Grants:   []Grant{{To: MemberID{2}, Blob: Hash{8}, Epochs: []EpochID{{6}, {7}}, Op: OpID{5}}},
		Retired:  []Grant{{To: MemberID{4}, Blob: Hash{9}, Epochs: []EpochID{{6}}, Op: OpID{4}}},
		Reviewed: &Stamp{At: at, By: MemberID{2}, Op: OpID{6}}, Folded: 42, NextNum: 3}
	good, _ := a.MarshalBinary()
	var back Auth
	if err := back.UnmarshalBinary(good); err != nil || !reflect.DeepEqual(&back, a) {
		f.Fatalf("an authority state does not survive the codec: %v\n%+v\n%+v", err, a, &back)
	}
	f.Add(good)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var a Auth
		if err := a.UnmarshalBinary(b); err != nil {
			return
		}
		again, _ := a.MarshalBinary()
		var a2 Auth
		if err := a2.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded state does not decode: %v", err)
		}
		third, _ := a2.MarshalBinary()
		if string(third) != string(again) {
			t.Fatal("the codec is not stable")
		}
	})
}
