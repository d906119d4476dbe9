package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// testAttempts checks the counting of attempts: a window per key, counted
// up to its end and then begun again, cleared on demand, swept once over.
func testAttempts(t *testing.T, s Store) {
	ctx := context.Background()
	now := micro(time.Now())
	const window = 15 * time.Minute
	key, other := []byte("attempts of a"), []byte("attempts of b")
	for i := 1; i <= 3; i++ {
		n, resets, err := s.TakeAttempt(ctx, key, window, now.Add(time.Duration(i)*time.Second))
		if err != nil || n != i || !resets.Equal(now.Add(time.Second+window)) {
			t.Fatalf("attempt %d = %d, resets %v, %v; want %d, resets %v (the window of the first)", i, n, resets, err, i, now.Add(time.Second+window))
		}
	}
	if n, _, err := s.TakeAttempt(ctx, other, window, now); err != nil || n != 1 {
		t.Fatalf("another key's first attempt = %d, %v; want 1", n, err)
	}
	// Once the window has ended, counting begins again.
	later := now.Add(time.Second + window)
	if n, resets, err := s.TakeAttempt(ctx, key, window, later); err != nil || n != 1 || !resets.Equal(later.Add(window)) {
		t.Fatalf("attempt after the window = %d, resets %v, %v; want 1 in a new window", n, resets, err)
	}
	if err := s.ClearAttempts(ctx, key); err != nil {
		t.Fatal(err)
	}
	if n, _, err := s.TakeAttempt(ctx, key, window, later); err != nil || n != 1 {
		t.Fatalf("attempt after ClearAttempts = %d, %v; want 1", n, err)
	}
	// The sweep removes ended windows only.
	if n, err := s.DeleteExpiredAttempts(ctx, now.Add(window+2*time.Second)); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredAttempts = %d, %v; want 1 (the other key's ended window)", n, err)
	}
	if n, _, err := s.TakeAttempt(ctx, key, window, later); err != nil || n != 2 {
		t.Fatalf("attempt after the sweep = %d, %v; want 2: a live window was swept", n, err)
	}
}

// testAttemptsConcurrent checks that concurrent attempts each get a count
// of their own: a limit checked against the count then holds however
// many arrive at once.
func testAttemptsConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	now := time.Now()
	const n = 40
	counts := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			counts[i], _, errs[i] = s.TakeAttempt(ctx, []byte("burst"), time.Minute, now)
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(counts)
	for i, c := range counts {
		if c != i+1 {
			t.Fatalf("counts of %d concurrent attempts: %v; want each of 1 to %d once", n, fmt.Sprint(counts), n)
		}
	}
}
