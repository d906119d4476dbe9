package passkeyd

import (
	"context"
	"time"
)

// Metrics receives what a Service measures, for an app to export (the
// server exports it to Prometheus). Config.Metrics nil measures nothing.
// Its methods are called from every request and must be quick and safe
// for concurrent use.
type Metrics interface {
	// Ceremony counts a finished ceremony: kind is "login" (a passkey
	// login), "registration" or "password" (a password login), outcome
	// "ok" or the error code of its refusal ("login_failed", ...).
	Ceremony(kind, outcome string)
	// StoreCommit observes how long a commit of kind ("login",
	// "registration") took, successful or not.
	StoreCommit(kind string, d time.Duration)
}

// noMetrics measures nothing.
type noMetrics struct{}

func (noMetrics) Ceremony(string, string)           {}
func (noMetrics) StoreCommit(string, time.Duration) {}

// countCeremony counts a ceremony of kind that ended with err.
func (s *Service) countCeremony(kind string, err error) {
	outcome := "ok"
	if err != nil {
		outcome = Classify(err).Code
	}
	s.metrics.Ceremony(kind, outcome)
}

// timed runs commit, observing how long it took.
func (s *Service) timed(ctx context.Context, kind string, commit func(ctx context.Context) error) error {
	start := time.Now()
	err := commit(ctx)
	s.metrics.StoreCommit(kind, time.Since(start))
	return err
}

// CountSessions is what a session store may also do: count the sessions
// that have not ended at now, for a gauge of active sessions.
type SessionCounter interface {
	CountSessions(ctx context.Context, now time.Time) (int64, error)
}

// ActiveSessions returns how many of passkeyd's sessions are active, when
// the session store can count them; ok is false when it cannot (the app's
// own sessions, or a store without SessionCounter).
func (s *Service) ActiveSessions(ctx context.Context) (n int64, ok bool, err error) {
	if s.sessions == nil {
		return 0, false, nil
	}
	c, isCounter := s.sessions.store.(SessionCounter)
	if !isCounter {
		return 0, false, nil
	}
	n, err = c.CountSessions(ctx, s.now())
	return n, true, err
}
