package fold

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

var allKinds = []string{KindCreate, KindMemberAdd, KindMemberEdit, KindMemberRemove, KindRekey, KindGrant, KindReview, KindActive,
	KindSecretAdd, KindSecretEdit, KindSecretShare, KindSecretSet, KindRotate, KindConfirm, KindAbort, KindTrash, KindRestore, KindPurge, KindReencrypt}

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
// any trailing byte is refused.
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
			for n := range len(raw) {
				if _, err := Decode(kind, raw[:n]); err == nil && n < len(raw) {
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
