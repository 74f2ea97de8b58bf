//go:build linux

package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// blockingPipe is a pipe whose read end is in blocking mode, as an MCP
// client's pipe reaches serve's stdin (os.Pipe's ends are non-blocking).
func blockingPipe(t *testing.T) (r *os.File, w *os.File) {
	t.Helper()
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	r, w = os.NewFile(uintptr(fds[0]), "stdin"), os.NewFile(uintptr(fds[1]), "client")
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

func nonBlocking(t *testing.T, fd int) bool {
	t.Helper()
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	return flags&unix.O_NONBLOCK != 0
}

func TestPollableStdinPipeIsReadThroughThePoller(t *testing.T) {
	stdin, client := blockingPipe(t)
	if err := stdin.SetReadDeadline(time.Now()); !errors.Is(err, os.ErrNoDeadline) {
		t.Fatalf("the blocking pipe itself: SetReadDeadline = %v, want os.ErrNoDeadline", err)
	}
	r, restore := pollableStdin(stdin)
	f, ok := r.(*os.File)
	if !ok || f == stdin {
		restore()
		t.Fatalf("pollableStdin returned %T (the same file: %v), want a new *os.File", r, f == stdin)
	}
	// A deadline is what only a file in the poller has.
	if err := f.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("SetReadDeadline on the pollable stdin: %v", err)
	}
	if _, err := io.WriteString(client, `{"jsonrpc":"2.0","id":1,"method":"ping"}`+"\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(f)
	line, err := br.ReadString('\n')
	if err != nil || !strings.Contains(line, `"ping"`) {
		t.Fatalf("read %q, %v", line, err)
	}
	// The client's end closing is the end of stdin (serve ends with it).
	client.Close()
	if _, err := br.ReadString('\n'); err != io.EOF {
		t.Fatalf("after the client closed its end: %v, want io.EOF", err)
	}
	restore()
	// fd 0 stays open, and blocking again for whoever holds it after serve.
	var st syscall.Stat_t
	if err := syscall.Fstat(int(stdin.Fd()), &st); err != nil {
		t.Fatalf("the original descriptor after restore: %v", err)
	}
	if nonBlocking(t, int(stdin.Fd())) {
		t.Error("the original descriptor is still non-blocking after restore")
	}
}

func TestPollableStdinRestoreWakesAWaitingRead(t *testing.T) {
	stdin, _ := blockingPipe(t)
	r, restore := pollableStdin(stdin)
	read := make(chan error, 1)
	go func() {
		_, err := r.Read(make([]byte, 1))
		read <- err
	}()
	time.Sleep(10 * time.Millisecond) // let the read wait
	restore()
	if err := testwait.Await(t, read, "the read waiting when restore closed stdin"); !errors.Is(err, os.ErrClosed) {
		t.Errorf("the waiting read ended with %v, want os.ErrClosed", err)
	}
}

func TestPollableStdinLeavesOtherInputAlone(t *testing.T) {
	file, err := os.Create(filepath.Join(t.TempDir(), "input"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	for _, in := range []io.Reader{strings.NewReader("{}\n"), file} {
		r, restore := pollableStdin(in)
		restore()
		if r != in {
			t.Errorf("pollableStdin(%T) returned another reader", in)
		}
	}
	if nonBlocking(t, int(file.Fd())) {
		t.Error("a regular file was made non-blocking")
	}
}
