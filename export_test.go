package passkeyd

import "time"

// SetClock replaces the Service's clock, for tests of expiry.
func SetClock(s *Service, now func() time.Time) { s.now = now }
