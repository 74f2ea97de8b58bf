//go:build !unix

package secretsource

import "os/exec"

// killGroup leaves cmd as it is: the context's end kills the command
// itself (on Windows, not the processes it started).
func killGroup(*exec.Cmd) {}
