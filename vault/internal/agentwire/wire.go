// Package agentwire is the protocol between the vault agent and its
// clients: frames of a 4-byte big-endian length and a JSON message, one
// request and one response at a time over a Unix socket.
//
// The decoders bound everything they read (frame size, number of stanzas,
// their arguments and bodies), so a misbehaving peer of the same user can
// make a request fail but not make the agent allocate without limit. The
// secret key is never part of any message: requests carry age stanzas and
// messages to sign, responses carry file keys, signatures and public keys.
package agentwire

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Ops a client may ask for.
const (
	OpHello  = "hello"  // the identity's public key line and kind
	OpUnwrap = "unwrap" // the file key of an age header's stanzas
	OpSign   = "sign"   // an Ed25519 signature of a message
	OpStatus = "status" // who the agent is and when it locks
	OpLock   = "lock"   // lock now: the agent exits
)

// Codes of error responses that the client acts on.
const (
	CodeNoMatch    = "no-match"    // no stanza is for this identity
	CodeLocked     = "locked"      // the agent is locking and answers no more
	CodeBadRequest = "bad-request" // the request did not decode
	CodeRefused    = "refused"     // the peer is not the agent's user
)

// Limits on what is read.
const (
	// MaxRequest bounds a request frame: an age header of a value shared
	// with a few thousand post-quantum readers (about 1.2 kB a stanza).
	MaxRequest = 8 << 20
	// MaxResponse bounds a response frame.
	MaxResponse = 64 << 10
	// MaxStanzas bounds the stanzas of one unwrap request.
	MaxStanzas = 4096
	// MaxArgs bounds the arguments of one stanza.
	MaxArgs = 16
	// MaxArg bounds one argument's length.
	MaxArg = 4096
	// MaxBody bounds one stanza's body.
	MaxBody = 16 << 10
	// MaxMessage bounds a message to sign: an operation body.
	MaxMessage = 1 << 20
)

// Stanza is an age recipient stanza.
type Stanza struct {
	Type string   `json:"type"`
	Args []string `json:"args,omitempty"`
	Body []byte   `json:"body"`
}

// Request is what a client asks.
type Request struct {
	Op      string   `json:"op"`
	Stanzas []Stanza `json:"stanzas,omitempty"`
	Message []byte   `json:"msg,omitempty"`
}

// Response is what the agent answers. Error is set on failure, with Code
// when the client must tell it apart.
type Response struct {
	Error string `json:"error,omitempty"`
	Code  string `json:"code,omitempty"`

	// unwrap
	FileKey []byte `json:"file_key,omitempty"`
	// sign
	Signature []byte `json:"sig,omitempty"`
	// hello, status, lock
	PublicKey    string `json:"public_key,omitempty"`
	Kind         string `json:"kind,omitempty"`
	IdentityPath string `json:"identity,omitempty"`
	PID          int    `json:"pid,omitempty"`
	IdleMillis   int64  `json:"idle_ms,omitempty"`
	LeftMillis   int64  `json:"left_ms,omitempty"`
	Started      string `json:"started,omitempty"`
}

// ErrTooLarge is returned for a frame longer than its limit.
var ErrTooLarge = errors.New("agent message too large")

// WriteFrame writes one frame holding v as JSON.
func WriteFrame(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	buf := make([]byte, 4, 4+len(b))
	binary.BigEndian.PutUint32(buf, uint32(len(b)))
	_, err = w.Write(append(buf, b...))
	return err
}

// ReadFrame reads one frame of at most max bytes.
func ReadFrame(r io.Reader, max int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if uint64(n) > uint64(max) {
		return nil, fmt.Errorf("%w (%d bytes, the limit is %d)", ErrTooLarge, n, max)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// DecodeRequest parses and checks a request frame's payload.
func DecodeRequest(b []byte) (Request, error) {
	var req Request
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Request{}, fmt.Errorf("malformed request: %w", err)
	}
	if dec.More() {
		return Request{}, errors.New("malformed request: trailing data")
	}
	switch req.Op {
	case OpHello, OpStatus, OpLock:
		if len(req.Stanzas) != 0 || len(req.Message) != 0 {
			return Request{}, fmt.Errorf("%s takes no arguments", req.Op)
		}
	case OpUnwrap:
		if len(req.Message) != 0 {
			return Request{}, errors.New("unwrap takes stanzas only")
		}
		if len(req.Stanzas) == 0 || len(req.Stanzas) > MaxStanzas {
			return Request{}, fmt.Errorf("unwrap needs 1 to %d stanzas, got %d", MaxStanzas, len(req.Stanzas))
		}
		for i, s := range req.Stanzas {
			if err := checkStanza(s); err != nil {
				return Request{}, fmt.Errorf("stanza #%d: %w", i, err)
			}
		}
	case OpSign:
		if len(req.Stanzas) != 0 {
			return Request{}, errors.New("sign takes a message only")
		}
		if len(req.Message) > MaxMessage {
			return Request{}, fmt.Errorf("message to sign is larger than %d bytes", MaxMessage)
		}
	default:
		return Request{}, fmt.Errorf("unknown op %q", truncate(req.Op))
	}
	return req, nil
}

func checkStanza(s Stanza) error {
	if s.Type == "" || len(s.Type) > MaxArg {
		return errors.New("bad type")
	}
	if len(s.Args) > MaxArgs {
		return fmt.Errorf("more than %d arguments", MaxArgs)
	}
	for _, a := range s.Args {
		if len(a) > MaxArg {
			return errors.New("argument too long")
		}
	}
	if len(s.Body) > MaxBody {
		return errors.New("body too long")
	}
	return nil
}

// DecodeResponse parses a response frame's payload.
func DecodeResponse(b []byte) (Response, error) {
	var resp Response
	if err := json.Unmarshal(b, &resp); err != nil {
		return Response{}, fmt.Errorf("malformed agent response: %w", err)
	}
	return resp, nil
}

func truncate(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}
