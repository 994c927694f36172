package browser

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
)

// browserNames are the executables Debian's and Google's packages install.
var browserNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

var (
	installOnce sync.Once
	installErr  error
)

func findChromium() string {
	for _, name := range browserNames {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// chromium returns a headless-capable Chromium. When none is installed it
// installs Debian's (apt-get update once per test binary, then apt-get
// install chromium) if the test runs as root, and skips, saying how to
// install it, only when it does not.
func chromium(t *testing.T) string {
	t.Helper()
	if p := findChromium(); p != "" {
		return p
	}
	if os.Geteuid() != 0 {
		t.Skip("chromium is not installed, and this test does not run as root so it cannot install it: " +
			"run `sudo apt-get install -y chromium` (Debian/Ubuntu) and run the test again")
	}
	installOnce.Do(func() {
		t.Log("chromium not found: installing Debian's package (apt-get update, apt-get install -y chromium)")
		for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "chromium"}} {
			cmd := exec.Command("apt-get", args...)
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				installErr = fmt.Errorf("apt-get %v: %w\n%s", args, err, out.String())
				return
			}
		}
	})
	if installErr != nil {
		t.Fatalf("install chromium: %v", installErr)
	}
	p := findChromium()
	if p == "" {
		t.Fatalf("apt-get installed chromium, but none of %v is on PATH", browserNames)
	}
	return p
}
