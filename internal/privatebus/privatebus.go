// Package privatebus runs a private D-Bus system bus for tests. CUPS's
// ippeveprinter and avahi-daemon insist on a system bus; giving them one
// of their own (with no Avahi on it, or an Avahi inside a test network
// namespace) keeps anything from being advertised on the machine's
// network or touching the machine's real bus.
package privatebus

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Config returns a dbus-daemon configuration for a system-type bus that
// listens on the Unix socket at socket and lets every local client in.
func Config(socket string) []byte {
	return fmt.Appendf(nil, `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_type="method_call"/>
    <allow send_destination="*"/><allow receive_sender="*"/>
  </policy>
</busconfig>
`, socket)
}

// Start runs dbus-daemon with its socket and configuration in dir and
// waits until the socket exists. It returns the bus address for
// DBUS_SYSTEM_BUS_ADDRESS and a function that stops the daemon.
func Start(dir string) (address string, stop func(), err error) {
	socket := filepath.Join(dir, "bus")
	conf := filepath.Join(dir, "dbus.conf")
	if err := os.WriteFile(conf, Config(socket), 0o600); err != nil {
		return "", nil, err
	}
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--nopidfile")
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start dbus-daemon: %w", err)
	}
	stop = func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, err := os.Stat(socket); err == nil {
			return "unix:path=" + socket, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, errors.New("private dbus-daemon did not create its socket within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
