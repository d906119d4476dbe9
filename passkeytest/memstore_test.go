package passkeytest_test

import (
	"testing"

	"github.com/passkeyd/passkeyd/passkeytest"
	"github.com/passkeyd/passkeyd/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) storetest.Store { return passkeytest.NewMemoryStore() })
}
