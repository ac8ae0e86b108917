package fold

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

var allKinds = []string{KindCreate, KindMemberAdd, KindMemberEdit, KindMemberRemove, KindMemberRekey, KindRekeyRequest, KindRekey, KindGrant, KindReview, KindActive,
	KindSecretAdd, KindSecretEdit, KindSecretShare, KindSecretSet, KindRotate, KindConfirm, KindAbort, KindTrash, KindRestore, KindPurge, KindReencrypt, KindTOTP}

// fill sets every exported field reachable from v to a random value, with
// lists of one to three elements and pointers present or not.
func fill(v reflect.Value, r *rand.Rand) {
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 1)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(r.Int64N(1<<40) - 1<<39)
	case reflect.String:
		v.SetString(string(rune('a'+r.IntN(26))) + "é")
	case reflect.Array:
		for i := range v.Len() {
			v.Index(i).SetUint(uint64(r.IntN(256)))
		}
	case reflect.Slice:
		n := 1 + r.IntN(3)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			fill(s.Index(i), r)
		}
		v.Set(s)
	case reflect.Pointer:
		if r.IntN(3) > 0 {
			e := reflect.New(v.Type().Elem())
			fill(e.Elem(), r)
			v.Set(e)
		}
	case reflect.Struct:
		if v.Type() == timeType {
			v.Set(reflect.ValueOf(time.Unix(0, r.Int64N(1<<62)).UTC()))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), r)
			}
		}
	}
}

// TestWireRoundTrip: every kind's payload, with every field set, comes
// back from its wire form unchanged; every shorter prefix of that form and
// any trailing byte is refused, except the prefix without the tail fields,
// which is the form operations written before those fields existed have.
func TestWireRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, kind := range allKinds {
		typ, ok := payloadType(kind)
		if !ok {
			t.Fatalf("no payload type for %s", kind)
		}
		for range 50 {
			in := reflect.New(typ)
			fill(in.Elem(), r)
			raw, err := Encode(kind, in.Interface())
			if err != nil {
				t.Fatal(err)
			}
			out := reflect.New(typ)
			rd := &wireReader{b: raw}
			if err := rd.decode(out.Elem(), 0); err != nil || len(rd.b) != 0 {
				t.Fatalf("%s: %v, %d bytes left", kind, err, len(rd.b))
			}
			if !reflect.DeepEqual(in.Interface(), out.Interface()) {
				t.Fatalf("%s: round trip changed the payload:\n%+v\n%+v", kind, in.Elem(), out.Elem())
			}
			old := reflect.New(typ)
			old.Elem().Set(in.Elem())
			for i := range typ.NumField() {
				if isTail(typ.Field(i)) {
					old.Elem().Field(i).SetZero()
				}
			}
			oldRaw, err := Encode(kind, old.Interface())
			if err != nil {
				t.Fatal(err)
			}
			for n := range len(raw) {
				if _, err := Decode(kind, raw[:n]); err == nil && n < len(raw) && n != len(oldRaw) {
					// A prefix can only decode if what it lost was
					// trailing, which the format does not allow.
					t.Fatalf("%s: a %d-byte prefix of %d bytes decoded", kind, n, len(raw))
				}
			}
			if _, err := Decode(kind, append(raw, 0)); err == nil {
				t.Fatalf("%s: trailing byte accepted", kind)
			}
		}
	}
}

// TestEncodeRefusesWrongType: a payload of the wrong type for its kind is
// an error, not a silently unreadable operation.
func TestEncodeRefusesWrongType(t *testing.T) {
	if _, err := Encode(KindSecretAdd, MemberEdit{}); err == nil {
		t.Fatal("wrong payload type accepted")
	}
	if _, err := Encode("nonsense", Empty{}); err == nil {
		t.Fatal("unknown kind accepted")
	}
}

// TestWireTail: a payload written before its tail fields existed decodes
// unchanged with them zero, and a tail field present but zero is refused,
// so each payload has one form.
func TestWireTail(t *testing.T) {
	v := SecretValue{Secret: SecretID{1}, Value: Value{Blob: Hash{2}, Readers: []MemberID{{3}}}}
	raw, err := Encode(KindSecretSet, v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(KindSecretSet, raw)
	if err != nil || !reflect.DeepEqual(got, &v) {
		t.Fatalf("without the seed: %v, %+v", err, got)
	}
	v.OTP = Hash{4}
	withOTP, err := Encode(KindSecretSet, v)
	if err != nil || len(withOTP) != len(raw)+len(Hash{}) {
		t.Fatalf("with the seed: %v, %d bytes after %d", err, len(withOTP), len(raw))
	}
	if got, err := Decode(KindSecretSet, withOTP); err != nil || !reflect.DeepEqual(got, &v) {
		t.Fatalf("with the seed: %v, %+v", err, got)
	}
	if _, err := Decode(KindSecretSet, append(raw, make([]byte, len(Hash{}))...)); err == nil {
		t.Fatal("a zero seed hash written out was accepted")
	}
	re := SecretReencrypt{Secret: SecretID{1}, Items: []Reencrypt{{Version: OpID{5}, Value: v.Value}}, OTP: []Hash{{}}}
	raw, err = Encode(KindReencrypt, re)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(KindReencrypt, raw); err == nil {
		t.Fatal("a list of zero seeds was accepted")
	}
}
