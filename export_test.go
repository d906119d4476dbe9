package passkeyd

import "time"

// SetClock replaces the Service's clock (and its sessions'), for tests of
// expiry.
func SetClock(s *Service, now func() time.Time) {
	s.now = now
	s.sessions.now = now
}
