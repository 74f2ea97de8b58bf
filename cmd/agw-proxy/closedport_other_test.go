//go:build !unix

package main

import "net"

// closedHostPort returns a loopback host:port where nothing listens: a
// listener's port, closed (another test may take it again; on Unix the port
// stays reserved, see closedport_unix_test.go).
func closedHostPort() (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := l.Addr().String()
	l.Close()
	return addr, func() {}, nil
}
