//go:build race

package main

import (
	"context"
	"errors"
	"io"
)

// serveDev is not linked into race builds: `make test-race` builds every
// package with the race detector, and the embedded Temporal server would
// make that build several minutes longer (see the Makefile). The harness
// itself is built without it (make bench-scale).
func serveDev(context.Context, []string, io.Writer) error {
	return errors.New("this orgguard-scale was built with -race, without the embedded dev server: build it without -race (make bench-scale)")
}
