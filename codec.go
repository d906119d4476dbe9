package passkeyd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"time"

	"github.com/alexedwards/scs/v2"
)

// SessionCodec is the scs.Codec of passkeyd's sessions (NewSessions sets
// it). It encodes session data compactly when every value is a
// string or a byte slice, as all of passkeyd's are; gob, scs's default,
// compiles a decoder for every session it reads, which cost several per
// cent of a login. Sessions holding other values (a host application's)
// fall back to gob, marked by their first byte, so nothing is refused.
type SessionCodec struct{}

var _ scs.Codec = SessionCodec{}

// Format markers: the first byte of every encoded session.
const (
	codecCompact byte = 'p'
	codecGob     byte = 'g'
)

// Value types in the compact form.
const (
	valueString byte = 's'
	valueBytes  byte = 'b'
)

var errBadSession = errors.New("passkeyd: malformed session data")

// Encode implements scs.Codec.
func (SessionCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	size := 1 + binary.MaxVarintLen64*2
	for k, v := range values {
		switch v := v.(type) {
		case string:
			size += len(k) + len(v) + 1 + 2*binary.MaxVarintLen64
		case []byte:
			size += len(k) + len(v) + 1 + 2*binary.MaxVarintLen64
		default:
			b, err := scs.GobCodec{}.Encode(deadline, values)
			return append([]byte{codecGob}, b...), err
		}
	}
	b := make([]byte, 0, size)
	b = append(b, codecCompact)
	b = binary.AppendVarint(b, deadline.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(values)))
	for k, v := range values {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		switch v := v.(type) {
		case string:
			b = append(b, valueString)
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		case []byte:
			b = append(b, valueBytes)
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		}
	}
	return b, nil
}

// Decode implements scs.Codec. Sessions written before this codec are
// plain gob, whose first byte can look like either marker; they are read
// as gob when they do not read as what their first byte says.
func (SessionCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	if len(b) == 0 {
		return time.Time{}, nil, errBadSession
	}
	switch b[0] {
	case codecCompact:
		if deadline, values, err := decodeCompact(b[1:]); err == nil {
			return deadline, values, nil
		}
	case codecGob:
		if deadline, values, err := (scs.GobCodec{}).Decode(b[1:]); err == nil {
			return deadline, values, nil
		}
	}
	return scs.GobCodec{}.Decode(b)
}

// decodeCompact reads the compact form, after its marker.
func decodeCompact(b []byte) (time.Time, map[string]any, error) {
	nanos, n := binary.Varint(b)
	if n <= 0 {
		return time.Time{}, nil, errBadSession
	}
	b = b[n:]
	count, n := binary.Uvarint(b)
	if n <= 0 || count > uint64(len(b)) {
		return time.Time{}, nil, errBadSession
	}
	b = b[n:]
	values := make(map[string]any, count)
	chunk := func() ([]byte, bool) {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return nil, false
		}
		out := b[n : n+int(l)]
		b = b[n+int(l):]
		return out, true
	}
	for range count {
		k, ok := chunk()
		if !ok || len(b) == 0 {
			return time.Time{}, nil, errBadSession
		}
		kind := b[0]
		b = b[1:]
		v, ok := chunk()
		if !ok {
			return time.Time{}, nil, errBadSession
		}
		switch kind {
		case valueString:
			values[string(k)] = string(v)
		case valueBytes:
			values[string(k)] = bytes.Clone(v)
		default:
			return time.Time{}, nil, errBadSession
		}
	}
	if len(b) != 0 {
		return time.Time{}, nil, errBadSession
	}
	return time.Unix(0, nanos), values, nil
}
