package app

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"mailhouse/internal/cli"
)

// Version is the release; builds from a checkout say "dev".
const Version = "0.1.0-dev"

// PrintVersion is `mailhouse version`.
func PrintVersion(env *cli.Env, args []string) error {
	rev := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = " " + s.Value
			}
		}
	}
	fmt.Fprintf(env.Stdout, "mailhouse %s%s (%s %s/%s)\n", Version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
