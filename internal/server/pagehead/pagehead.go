// Package pagehead sets the response headers of arsd's HTML pages (the
// account pages, the sign-in and device pages, the Amazon sign-in pages),
// so that every page has the same protection: no caching, no MIME
// sniffing, no framing, and a Content-Security-Policy that loads nothing
// but the site's own styles and images and lets forms post only to the
// site (and to the origins named).
package pagehead

import (
	"net/http"
	"strings"
)

// Set sets the headers of an HTML page. referrer is the Referrer-Policy
// ("same-origin", or "no-referrer" on pages whose URL holds a secret);
// formAction names origins besides the site that the page's forms (and
// the redirects after them) may go to.
func Set(h http.Header, referrer string, formAction ...string) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", referrer)
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "+
		"form-action "+strings.Join(append([]string{"'self'"}, formAction...), " ")+"; frame-ancestors 'none'; base-uri 'none'")
}
