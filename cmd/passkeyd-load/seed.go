package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/internal/backend"
	"github.com/passkeyd/passkeyd/password"
)

// loadPassword is the password of every seeded load-test user.
const loadPassword = "load-test-password"

// loadUsername names the i-th load-test user.
func loadUsername(i int) string { return fmt.Sprintf("load-user-%06d", i) }

// seedCmd is "passkeyd-load seed".
func seedCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("seed")
	dsn := fs.String("db", "sqlite:passkeyd.db", "database: sqlite:PATH or postgres://...")
	users := fs.Int("users", 1000, "load-test users to create (load-user-000000...), password "+loadPassword)
	fillerUsers := fs.Int("filler-users", 0, "extra users that only make the database larger")
	fillerPasskeys := fs.Int("filler-passkeys", 2, "passkeys of each filler user (random, unusable keys)")
	workers := fs.Int("workers", 4, "concurrent writers")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *users < 0 || *fillerUsers < 0 || *fillerPasskeys < 0 || *workers < 1 {
		return usageError{"seed: counts must not be negative, workers at least 1"}
	}
	b, err := backend.Open(ctx, *dsn)
	if err != nil {
		return fmt.Errorf("open %s: %s", backend.Redact(*dsn), backend.RedactError(err, *dsn))
	}
	defer b.Close()
	if err := b.Migrate(ctx); err != nil {
		return err
	}
	// One hash serves every load-test user: hashing 1000 passwords would
	// take longer than the test.
	hash, err := password.NewHasher(password.DefaultParams(), 1).Hash(ctx, loadPassword)
	if err != nil {
		return err
	}
	start := time.Now()
	created, err := parallel(ctx, *users+*fillerUsers, *workers, func(ctx context.Context, i int) (int, error) {
		if i < *users {
			return 1, createUser(ctx, b, loadUsername(i), hash, 0)
		}
		return 1 + *fillerPasskeys, createUser(ctx, b, fmt.Sprintf("filler-user-%07d", i-*users), "", *fillerPasskeys)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "seeded %d load-test users and %d filler users (%d rows) in %s\n",
		*users, *fillerUsers, created, time.Since(start).Round(time.Millisecond))
	return nil
}

// createUser stores a user, unless it exists, with n filler passkeys.
func createUser(ctx context.Context, b backend.Backend, name, hash string, n int) error {
	u, err := passkeyd.NewUser(name, "", time.Now())
	if err != nil {
		return err
	}
	u.PasswordHash = hash
	if err := b.CreateUser(ctx, u); errors.Is(err, passkeyd.ErrUsernameTaken) {
		return nil
	} else if err != nil {
		return err
	}
	for range n {
		if err := b.CreatePasskey(ctx, fillerPasskey(u.ID)); err != nil {
			return err
		}
	}
	return nil
}

// fillerPasskey is a passkey with random ids and key bytes: it takes room
// in the tables and indexes like a real one, and logs nobody in.
func fillerPasskey(userID string) *passkeyd.Passkey {
	credID, key := make([]byte, 32), make([]byte, 77) // a COSE P-256 key's size
	rand.Read(credID)
	rand.Read(key)
	return &passkeyd.Passkey{
		ID: uuid.NewString(), UserID: userID, CredentialID: credID, PublicKey: key,
		PublicKeyAlgorithm: -7, AttestationType: "none", AttestationFormat: "none",
		AAGUID: make([]byte, 16), Transports: []string{"internal"}, Attachment: "platform",
		UserVerified: true, BackupEligible: true, BackupState: true,
		Name: "filler", Platform: "Unknown", Enabled: true, CreatedAt: time.Now(),
	}
}

// parallel runs job for 0..n-1 on workers goroutines and sums what the
// jobs return; it stops at the first error.
func parallel(ctx context.Context, n, workers int, job func(ctx context.Context, i int) (int, error)) (int, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var mu sync.Mutex
	total := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				k, err := job(ctx, i)
				if err != nil {
					cancel(err)
					return
				}
				mu.Lock()
				total += k
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return total, err
	}
	return total, ctx.Err()
}
