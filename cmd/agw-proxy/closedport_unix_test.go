//go:build unix

package main

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// closedHostPort returns a loopback host:port where a connection is refused,
// and a func that frees it. The port is bound but not listened on, so no
// other test can take it while the script runs (a closed listener's port
// could be reused at once, and the script would then reach that test's
// server).
func closedHostPort() (string, func(), error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return "", nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		unix.Close(fd)
		return "", nil, err
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return "", nil, err
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port), func() { unix.Close(fd) }, nil
}
