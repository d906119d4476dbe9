package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/passkeyd/passkeyd/internal/sqlstore"
)

func openForTest(t *testing.T) *DB {
	t.Helper()
	ctx := context.Background()
	d, err := Open(ctx, filepath.Join(t.TempDir(), "writer.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return d
}

// blockWriter queues a write that holds the writer until release is
// closed, and returns once the writer runs it, so that what is queued
// next waits for one batch.
func blockWriter(t *testing.T, d *DB) (release chan struct{}, done *writeJob) {
	t.Helper()
	release = make(chan struct{})
	started := make(chan struct{})
	done = enqueue(d, func(sqlstore.Tx) error {
		close(started)
		<-release
		return nil
	})
	<-started
	return release, done
}

// enqueue puts a write in the writer's queue at once and returns it; its
// outcome arrives on job.done.
func enqueue(d *DB, fn func(sqlstore.Tx) error) *writeJob {
	job := &writeJob{fn: fn, done: make(chan error, 1)}
	d.queue <- job
	return job
}

func insertChallenge(key string) func(sqlstore.Tx) error {
	return func(tx sqlstore.Tx) error {
		_, err := tx.Exec(`INSERT INTO passkeyd_used_challenges (key) VALUES ($1)`, []byte(key))
		return err
	}
}

func challengeRows(t *testing.T, d *DB) map[string]bool {
	t.Helper()
	rows, err := d.read.Query(`SELECT key FROM passkeyd_used_challenges`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]bool{}
	for rows.Next() {
		var k []byte
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		got[string(k)] = true
	}
	return got
}

// Writes that wait while the writer is busy are committed together, in
// one transaction; one that fails is undone alone, and the others commit.
func TestGroupCommit(t *testing.T) {
	d := openForTest(t)
	release, first := blockWriter(t, d)
	before := d.Stats()

	const n = 10
	jobs := make([]*writeJob, n)
	for i := range n {
		switch i {
		case 5:
			// Writes a row, then fails: the row must go with it.
			jobs[i] = enqueue(d, func(tx sqlstore.Tx) error {
				if err := insertChallenge("half-done")(tx); err != nil {
					return err
				}
				return insertChallenge("key-4")(tx) // job 4's key: a unique violation
			})
		default:
			jobs[i] = enqueue(d, insertChallenge(fmt.Sprintf("key-%d", i)))
		}
	}
	close(release)
	if err := <-first.done; err != nil {
		t.Fatal(err)
	}
	for i, job := range jobs {
		err := <-job.done
		if (err != nil) != (i == 5) {
			t.Errorf("job %d: %v", i, err)
		}
	}
	after := d.Stats()
	if got := after.Commits - before.Commits; got != 2 {
		t.Errorf("%d commits for the blocking write and %d queued ones, want 2", got, n)
	}
	if got := after.Writes - before.Writes; got != n {
		t.Errorf("%d writes committed, want %d (the blocking one and 9 of 10)", got, n)
	}
	rows := challengeRows(t, d)
	for i := range n {
		if want := i != 5; rows[fmt.Sprintf("key-%d", i)] != want {
			t.Errorf("key-%d stored: %v, want %v", i, !want, want)
		}
	}
	if rows["half-done"] {
		t.Error("the failed write's first row was committed")
	}
}

// A write whose caller gives up while it is queued never runs; one the
// writer has taken is waited for.
func TestWriteAbandonedInQueue(t *testing.T) {
	d := openForTest(t)
	release, first := blockWriter(t, d)
	ctx, cancel := context.WithCancel(context.Background())
	ran := false
	errc := make(chan error, 1)
	queued := make(chan struct{})
	go func() {
		errc <- d.writeTx(ctx, func(tx sqlstore.Tx) error {
			ran = true
			return insertChallenge("abandoned")(tx)
		})
	}()
	// The write is queued once the queue holds it.
	go func() {
		for len(d.queue) == 0 {
		}
		close(queued)
	}()
	<-queued
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned write: %v, want context.Canceled", err)
	}
	close(release)
	<-first.done
	// The writer has moved past the abandoned write once a later one is
	// done.
	if err := d.writeTx(context.Background(), insertChallenge("later")); err != nil {
		t.Fatal(err)
	}
	if ran || challengeRows(t, d)["abandoned"] {
		t.Error("the abandoned write ran")
	}
}

// Close lets the batch in progress finish and fails what is still queued.
func TestCloseFailsQueuedWrites(t *testing.T) {
	d := openForTest(t)
	release, first := blockWriter(t, d)
	queued := enqueue(d, insertChallenge("queued"))
	closed := make(chan error, 1)
	go func() { closed <- d.Close() }()
	// Close waits for the writer, which finishes its batch first.
	close(release)
	if err := <-first.done; err != nil {
		t.Errorf("the write in progress: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := <-queued.done; err != nil && !errors.Is(err, ErrClosed) {
		t.Errorf("queued write: %v, want ErrClosed or success", err)
	}
	if err := d.writeTx(context.Background(), insertChallenge("after")); !errors.Is(err, ErrClosed) {
		t.Errorf("write after Close: %v, want ErrClosed", err)
	}
}
