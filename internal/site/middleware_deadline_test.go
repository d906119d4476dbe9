package site

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestWithDeadline(t *testing.T) {
	var deadline time.Time
	var ok bool
	h := withDeadline(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deadline, ok = r.Context().Deadline()
	}))
	start := time.Now()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if !ok || deadline.Before(start.Add(requestDeadline)) || deadline.After(time.Now().Add(requestDeadline)) {
		t.Fatalf("request deadline %v (set: %v), want %s from the start", deadline, ok, requestDeadline)
	}
}
