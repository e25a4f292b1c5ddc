package authn

import (
	"net"
	"net/http"
	"strings"
)

// ClientAddr is the IP address a request comes from, which sign-in
// guards and rate limits key on: the connection's peer, or with
// trustProxy the first X-Forwarded-For entry (set by a load balancer in
// front of arsd).
func ClientAddr(r *http.Request, trustProxy bool) string {
	if trustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			if ip := net.ParseIP(strings.TrimSpace(first)); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
