package testutil

import (
	"net"
	"os"
	"syscall"
	"testing"
)

// ClosedPort is a loopback address that refuses connections until
// Listen: its port is bound, so no other socket (not another test's
// listener, nor a client's ephemeral port) can take it meanwhile, but
// not listening. A port picked free and released would be up for
// grabs for as long as the test waits.
type ClosedPort struct {
	Addr string
	fd   int
}

// ReservePort binds a loopback port without listening on it. The port
// is released when the test ends, or handed to the listener by Listen.
func ReservePort(t testing.TB) *ClosedPort {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Close(fd)
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		t.Fatal(err)
	}
	p := &ClosedPort{fd: fd, Addr: (&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*syscall.SockaddrInet4).Port}).String()}
	t.Cleanup(func() {
		if p.fd >= 0 {
			syscall.Close(p.fd)
		}
	})
	return p
}

// Listen starts listening on the reserved port.
func (p *ClosedPort) Listen(t testing.TB) net.Listener {
	t.Helper()
	if err := syscall.Listen(p.fd, syscall.SOMAXCONN); err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(p.fd), p.Addr)
	p.fd = -1
	defer f.Close() // the listener holds its own descriptor
	ln, err := net.FileListener(f)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
