package main

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// relay is a loopback TCP relay in front of the emulator's Gateway that
// counts the connections clients open. The emulator has no such counter;
// counting accepts here is exact, where sampling /proc/net/tcp would miss
// short-lived connections. It costs a few µs of the benchmark's own CPU per
// request, so the throughput runs send direct and proxied calls through it
// alike.
type relay struct {
	ln       net.Listener
	target   string
	accepted atomic.Int64

	mu    sync.Mutex
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// startRelay listens on 127.0.0.1 and forwards every connection to target
// (a loopback host:port).
func startRelay(target string) (*relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &relay{ln: ln, target: target, conns: map[net.Conn]bool{}}
	r.wg.Add(1)
	go r.accept()
	return r, nil
}

// Addr is the relay's host:port.
func (r *relay) Addr() string { return r.ln.Addr().String() }

// Accepted is the number of connections accepted so far (0 for a nil relay).
func (r *relay) Accepted() int64 {
	if r == nil {
		return 0
	}
	return r.accepted.Load()
}

func (r *relay) accept() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.accepted.Add(1)
		r.wg.Add(1)
		go r.forward(c)
	}
}

func (r *relay) track(c net.Conn, open bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if open {
		r.conns[c] = true
	} else {
		delete(r.conns, c)
	}
}

func (r *relay) forward(c net.Conn) {
	defer r.wg.Done()
	defer c.Close()
	up, err := net.Dial("tcp", r.target)
	if err != nil {
		return
	}
	defer up.Close()
	r.track(c, true)
	r.track(up, true)
	defer r.track(c, false)
	defer r.track(up, false)
	done := make(chan struct{})
	go func() {
		io.Copy(up, c) // splice(2) between TCP sockets on Linux
		up.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(c, up)
	c.(*net.TCPConn).CloseWrite()
	<-done
}

// Close stops the relay and cuts every connection through it.
func (r *relay) Close() {
	r.ln.Close()
	r.mu.Lock()
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}
