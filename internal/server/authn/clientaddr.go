package authn

import (
	"net"
	"net/http"
	"strings"
)

// ClientAddr is the IP address a request comes from, which sign-in
// guards and rate limits key on: the connection's peer, or with
// trustProxy the last X-Forwarded-For entry, the one the load balancer in
// front of arsd appended for the peer it saw. Entries before it were
// written by the client and could be anything, so they are never used: a
// client that rotates them cannot escape a per-address limit.
func ClientAddr(r *http.Request, trustProxy bool) string {
	if trustProxy {
		if ip := lastForwardedFor(r.Header.Values("X-Forwarded-For")); ip != "" {
			return ip
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// lastForwardedFor is the last entry of the X-Forwarded-For header lines
// taken together (RFC 7230 §3.2.2: repeated lines are one comma list), or
// "" when that entry is not an IP address.
func lastForwardedFor(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	last := lines[len(lines)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	ip := net.ParseIP(strings.TrimSpace(last))
	if ip == nil {
		return ""
	}
	return ip.String()
}
