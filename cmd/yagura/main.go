// Command yagura scans a whole AWS Organization for security risks and shows them in one place.
package main

import (
	"errors"
	"fmt"
	"os"
)

func main() {
	err := newRootCmd().Execute()
	os.Exit(exitCode(err))
}

// exitError carries a specific process exit status (3 for --fail-on matches).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(os.Stderr, "yagura:", ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "yagura:", err)
	return 1
}
