package passkeyd

import (
	"reflect"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
)

func TestSessionCodecRoundTrip(t *testing.T) {
	deadline := time.Date(2026, 11, 25, 12, 0, 0, 123, time.UTC)
	tests := []struct {
		name   string
		values map[string]any
		marker byte
	}{
		{"empty", map[string]any{}, codecCompact},
		{"passkeyd's values", map[string]any{"login": []byte(`{"user_id":"x"}`), "ceremony_owner": "abc", "flash": ""}, codecCompact},
		{"empty bytes", map[string]any{"b": []byte{}}, codecCompact},
		{"another type falls back to gob", map[string]any{"n": 42, "s": "x"}, codecGob},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := SessionCodec{}.Encode(deadline, tt.values)
			if err != nil {
				t.Fatal(err)
			}
			if b[0] != tt.marker {
				t.Fatalf("marker %q, want %q", b[0], tt.marker)
			}
			gotDeadline, got, err := SessionCodec{}.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if !gotDeadline.Equal(deadline) || !reflect.DeepEqual(got, tt.values) {
				t.Fatalf("decoded %v %v, want %v %v", gotDeadline, got, deadline, tt.values)
			}
		})
	}
}

// Sessions stored before the compact codec (plain gob) still load.
func TestSessionCodecReadsOldGobSessions(t *testing.T) {
	deadline := time.Now().Round(0)
	values := map[string]any{"ceremony_owner": "abc", "login": []byte("{}")}
	b, err := scs.GobCodec{}.Encode(deadline, values)
	if err != nil {
		t.Fatal(err)
	}
	gotDeadline, got, err := SessionCodec{}.Decode(b)
	if err != nil || !gotDeadline.Equal(deadline) || !reflect.DeepEqual(got, values) {
		t.Fatalf("Decode(gob) = %v %v %v", gotDeadline, got, err)
	}
}

func FuzzSessionCodecDecode(f *testing.F) {
	for _, values := range []map[string]any{{}, {"a": "b"}, {"k": []byte{1, 2}}, {"n": 1}} {
		b, _ := SessionCodec{}.Encode(time.Unix(0, 5), values)
		f.Add(b)
	}
	f.Add([]byte{codecCompact, 0, 255, 255, 255, 255, 15})
	f.Fuzz(func(t *testing.T, b []byte) {
		deadline, values, err := SessionCodec{}.Decode(b)
		if err != nil || b[0] != codecCompact {
			return
		}
		for k, v := range values {
			switch v.(type) {
			case string, []byte:
			default:
				t.Fatalf("compact session decoded %q as %T", k, v)
			}
		}
		again, err := SessionCodec{}.Encode(deadline, values)
		if err != nil {
			t.Fatal(err)
		}
		if _, values2, err := (SessionCodec{}).Decode(again); err != nil || !reflect.DeepEqual(values, values2) {
			t.Fatalf("re-encoding changed the session: %v, %v", values2, err)
		}
	})
}
