// Package version carries build information stamped in by the linker:
//
//	go build -ldflags "-X k8s-manage/internal/version.version=v1.2.3 -X k8s-manage/internal/version.commit=abc"
package version

import "runtime"

// Set only by -ldflags -X at link time; never assigned at run time.
var (
	version = "dev"
	commit  = "unknown"
)

// Info describes the running binary.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go_version"`
}

// Get returns the build information.
func Get() Info {
	return Info{Version: version, Commit: commit, GoVersion: runtime.Version()}
}
