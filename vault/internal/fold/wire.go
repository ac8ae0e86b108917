package fold

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"time"
)

// The wire form of payloads: compact binary, written by Encode and read by
// Decode. Fields are written in the order the struct declares them:
// integers as varints, booleans as one byte, strings and byte slices with
// their length first, fixed-size IDs as their raw bytes, slices with their
// length first, pointers as a presence byte and the value, times as Unix
// nanoseconds (zero for the zero time). Every operation of one vault is
// signed in this form, so it never changes: a new field means a new kind,
// or a tail field.
//
// A tail field (tag `wire:"tail"`, only among the last fields of a payload)
// is written only when it is not zero, and read only when bytes remain:
// operations written before the field existed decode unchanged. A tail
// field that is present must not be zero, so every payload has one form.
//
// JSON carried the same payloads at more than twice the size (IDs in hex),
// which made the shared file larger than the values it holds.

var errWire = errors.New("malformed payload")

var timeType = reflect.TypeOf(time.Time{})

// Encode encodes a payload (a pointer to, or a value of, one of the payload
// types) for an operation of kind.
func Encode(kind string, p any) ([]byte, error) {
	v := reflect.ValueOf(p)
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	want, ok := payloadType(kind)
	if !ok {
		return nil, fmt.Errorf("unknown kind of change %q", kind)
	}
	if v.Type() != want {
		return nil, fmt.Errorf("payload of type %s for a change of kind %s", v.Type(), kind)
	}
	var b []byte
	return wireEncode(b, v), nil
}

func wireEncode(b []byte, v reflect.Value) []byte {
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			return append(b, 1)
		}
		return append(b, 0)
	case reflect.Int, reflect.Int64, reflect.Int32:
		return binary.AppendVarint(b, v.Int())
	case reflect.String:
		b = binary.AppendUvarint(b, uint64(v.Len()))
		return append(b, v.String()...)
	case reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			for i := range v.Len() {
				b = append(b, byte(v.Index(i).Uint()))
			}
			return b
		}
	case reflect.Slice:
		b = binary.AppendUvarint(b, uint64(v.Len()))
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return append(b, v.Bytes()...)
		}
		for i := range v.Len() {
			b = wireEncode(b, v.Index(i))
		}
		return b
	case reflect.Pointer:
		if v.IsNil() {
			return append(b, 0)
		}
		return wireEncode(append(b, 1), v.Elem())
	case reflect.Struct:
		if v.Type() == timeType {
			t := v.Interface().(time.Time)
			if t.IsZero() {
				return binary.AppendVarint(b, 0)
			}
			return binary.AppendVarint(b, t.UnixNano())
		}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() || (isTail(f) && v.Field(i).IsZero()) {
				continue
			}
			b = wireEncode(b, v.Field(i))
		}
		return b
	}
	panic("fold: no wire form for " + v.Type().String())
}

type wireReader struct {
	b []byte
}

func (r *wireReader) uvarint() (uint64, error) {
	x, n := binary.Uvarint(r.b)
	if n <= 0 {
		return 0, errWire
	}
	r.b = r.b[n:]
	return x, nil
}

func (r *wireReader) decode(v reflect.Value, depth int) error {
	if depth > 16 {
		return errWire
	}
	switch v.Kind() {
	case reflect.Bool:
		if len(r.b) < 1 || r.b[0] > 1 {
			return errWire
		}
		v.SetBool(r.b[0] == 1)
		r.b = r.b[1:]
		return nil
	case reflect.Int, reflect.Int64, reflect.Int32:
		x, n := binary.Varint(r.b)
		if n <= 0 || v.OverflowInt(x) {
			return errWire
		}
		v.SetInt(x)
		r.b = r.b[n:]
		return nil
	case reflect.String:
		n, err := r.uvarint()
		if err != nil || n > uint64(len(r.b)) {
			return errWire
		}
		v.SetString(string(r.b[:n]))
		r.b = r.b[n:]
		return nil
	case reflect.Array:
		n := v.Len()
		if len(r.b) < n {
			return errWire
		}
		reflect.Copy(v, reflect.ValueOf(r.b[:n]))
		r.b = r.b[n:]
		return nil
	case reflect.Slice:
		n, err := r.uvarint()
		if err != nil || n > maxList*64 || n > uint64(len(r.b)) {
			// Every element takes at least one byte.
			return errWire
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes(append([]byte(nil), r.b[:n]...))
			r.b = r.b[n:]
			return nil
		}
		if n == 0 {
			return nil
		}
		s := reflect.MakeSlice(v.Type(), int(n), int(n))
		for i := range int(n) {
			if err := r.decode(s.Index(i), depth+1); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Pointer:
		if len(r.b) < 1 || r.b[0] > 1 {
			return errWire
		}
		present := r.b[0] == 1
		r.b = r.b[1:]
		if !present {
			return nil
		}
		e := reflect.New(v.Type().Elem())
		if err := r.decode(e.Elem(), depth+1); err != nil {
			return err
		}
		v.Set(e)
		return nil
	case reflect.Struct:
		if v.Type() == timeType {
			x, n := binary.Varint(r.b)
			if n <= 0 {
				return errWire
			}
			r.b = r.b[n:]
			if x != 0 {
				v.Set(reflect.ValueOf(time.Unix(0, x).UTC()))
			}
			return nil
		}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() || (isTail(f) && len(r.b) == 0) {
				continue
			}
			if err := r.decode(v.Field(i), depth+1); err != nil {
				return err
			}
			if isTail(f) && v.Field(i).IsZero() {
				return errWire
			}
		}
		return nil
	}
	return errWire
}

func isTail(f reflect.StructField) bool { return f.Tag.Get("wire") == "tail" }

// payloadType returns the payload type of kind.
func payloadType(kind string) (reflect.Type, bool) {
	var p any
	switch kind {
	case KindCreate:
		p = Create{}
	case KindMemberAdd:
		p = MemberAdd{}
	case KindMemberEdit:
		p = MemberEdit{}
	case KindMemberRemove:
		p = MemberRemove{}
	case KindMemberRekey:
		p = MemberRekey{}
	case KindRekeyRequest:
		p = RekeyRequest{}
	case KindRekey:
		p = Rekey{}
	case KindGrant:
		p = GrantKeys{}
	case KindReview, KindActive:
		p = Empty{}
	case KindSecretAdd:
		p = SecretAdd{}
	case KindSecretEdit:
		p = SecretEdit{}
	case KindSecretShare:
		p = SecretShare{}
	case KindSecretSet, KindRotate:
		p = SecretValue{}
	case KindConfirm, KindAbort:
		p = Settle{}
	case KindTrash, KindRestore, KindPurge:
		p = SecretRef{}
	case KindReencrypt, KindTOTP:
		p = SecretReencrypt{}
	default:
		return nil, false
	}
	return reflect.TypeOf(p), true
}
