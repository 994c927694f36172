// Package version reports the build's version.
package version

import (
	"fmt"
	"runtime/debug"
)

// Version is set at build time with -ldflags "-X github.com/orgguard/orgguard/internal/version.Version=v1.2.3".
var Version = "dev"

// String is the version with the VCS revision when the binary carries one.
func String() string {
	rev := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = s.Value[:12]
			}
		}
	}
	if rev == "" {
		return Version
	}
	return fmt.Sprintf("%s (%s)", Version, rev)
}
