package passkeyd

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

func TestHashBusy(t *testing.T) {
	live := context.Background()
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	other := errors.New("malformed hash")
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want error
	}{
		{"slot wait timed out", live, context.DeadlineExceeded, ErrBusy},
		{"request ended", gone, context.DeadlineExceeded, context.DeadlineExceeded},
		{"other error", live, other, other},
	}
	for _, tt := range tests {
		got := hashBusy(tt.ctx, tt.err)
		var e *Error
		if errors.As(tt.want, &e) {
			if !errors.As(got, &e) || e.Code != ErrBusy.Code || HTTPStatus(got) != http.StatusServiceUnavailable {
				t.Errorf("%s: hashBusy = %v, want a 503 busy error", tt.name, got)
			}
			continue
		}
		if !errors.Is(got, tt.want) {
			t.Errorf("%s: hashBusy = %v, want %v", tt.name, got, tt.want)
		}
	}
}
