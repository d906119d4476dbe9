package passkeyd_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestSQLiteHostLinksNoServerDrivers checks that a host application that
// uses passkeyd with SQLite — the package itself, its SQLite store and the
// test authenticator — does not link the PostgreSQL or Redis drivers, nor
// the server's Prometheus client.
func TestSQLiteHostLinksNoServerDrivers(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps",
		"github.com/passkeyd/passkeyd",
		"github.com/passkeyd/passkeyd/sqlite",
		"github.com/passkeyd/passkeyd/password",
		"github.com/passkeyd/passkeyd/passkeytest",
	).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed only %v", deps)
	}
	for _, dep := range deps {
		for _, banned := range []string{"github.com/jackc/", "github.com/redis/", "github.com/passkeyd/passkeyd/postgres", "github.com/passkeyd/passkeyd/redis", "github.com/prometheus/"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("a SQLite-only host links %s", dep)
			}
		}
	}
}
