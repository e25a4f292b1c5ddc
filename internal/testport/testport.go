// Package testport picks TCP ports for test servers that must be told
// their port up front (CUPS's ippeveprinter takes -p PORT; it cannot be
// asked for port 0).
//
// A port taken from net.Listen(":0") and closed again is a race: the
// kernel hands the same ephemeral port to the next listener on port 0 — a
// simulated printer in a parallel test, say — before the server binds it.
// Free picks instead from below the kernel's ephemeral range, which port-0
// listeners never get.
package testport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

const lowest = 10000

// Free returns a TCP port below the ephemeral range that is free on every
// local address at the moment of the call.
func Free() (int, error) {
	high := ephemeralLow() - 1
	if high <= lowest {
		high = 32767
	}
	for range 200 {
		port := lowest + rand.IntN(high-lowest)
		ln, err := net.Listen("tcp", ":"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		ln.Close()
		return port, nil
	}
	return 0, fmt.Errorf("no free TCP port found in %d-%d", lowest, high)
}

// ephemeralLow reads the low end of Linux's ephemeral port range (32768
// when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				return n
			}
		}
	}
	return 32768
}
