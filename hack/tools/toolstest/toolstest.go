// Package toolstest is test support: the paths of the tools hack/tools/build.sh builds.
package toolstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Helm returns the helm CLI built from helm.sh/helm/v4: $K8SM_TEST_HELM (make test-deps sets
// it), or hack/tools/build.sh's cached build.
func Helm(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the helm CLI built from its module: runs in the full tier (make test), not under -short")
	}
	if p := os.Getenv("K8SM_TEST_HELM"); p != "" {
		return p
	}
	_, here, _, _ := runtime.Caller(0)
	out, err := exec.Command(filepath.Join(filepath.Dir(here), "..", "build.sh")).Output()
	if err != nil {
		t.Fatalf("build helm (hack/tools/build.sh): %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return filepath.Join(lines[len(lines)-1], "helm")
}
