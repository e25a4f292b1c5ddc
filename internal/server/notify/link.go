package notify

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Action is what a one-click link does to its order.
type Action byte

// The actions of one-click links.
const (
	// ActionSkip skips a scheduled order: it is never handed over and its
	// supply orders again when it next runs low.
	ActionSkip Action = 's'
	// ActionShip hands a scheduled order over now instead of at the end
	// of its hold.
	ActionShip Action = 'p'
)

// String is the action's name in URLs and pages: "skip" or "ship".
func (a Action) String() string {
	switch a {
	case ActionSkip:
		return "skip"
	case ActionShip:
		return "ship"
	}
	return "unknown"
}

// Link is a parsed one-click link. Its fields mean nothing until Verify
// has checked them against the order's account.
type Link struct {
	OrderID string
	Action  Action
	Expires time.Time
	// Nonce makes each link distinct; a link is used once, by its nonce.
	Nonce [16]byte
	mac   []byte
	body  []byte
}

// ID is the link's single-use key, safe to store (it is not the token).
func (l Link) ID() string { return hex.EncodeToString(l.Nonce[:]) }

// Errors of ParseLink and Verify. Pages say all of them the same way, so
// that no one learns which part of a forged link was wrong.
var (
	ErrBadLink     = errors.New("link is not valid")
	ErrLinkExpired = errors.New("link has expired")
)

const (
	linkVersion = 1
	macLen      = 16             // HMAC-SHA256 truncated to 128 bits
	fixedLen    = 1 + 1 + 8 + 16 // version, action, expiry, nonce
	maxOrderID  = 64             // order IDs are UUIDs; room to spare
	maxTokenLen = (fixedLen+maxOrderID+macLen)*4/3 + 4
	linkDomain  = "arsd order link\x00" // separates these MACs from any other use of the key
)

// Signer signs and checks one-click links with an HMAC key shared by every
// replica.
type Signer struct {
	key []byte
	now func() time.Time
}

// NewSigner returns a signer with key (at least 32 bytes). now defaults
// to time.Now.
func NewSigner(key []byte, now func() time.Time) (*Signer, error) {
	if len(key) < 32 {
		return nil, errors.New("link key: at least 32 bytes")
	}
	if now == nil {
		now = time.Now
	}
	return &Signer{key: append([]byte(nil), key...), now: now}, nil
}

// Sign returns the token of a link doing action to an order of accountID,
// valid until expires. The account is bound by the MAC, not carried in the
// token.
func (s *Signer) Sign(accountID, orderID string, action Action, expires time.Time) (string, error) {
	if orderID == "" || len(orderID) > maxOrderID {
		return "", fmt.Errorf("link: order ID of %d bytes", len(orderID))
	}
	if action != ActionSkip && action != ActionShip {
		return "", fmt.Errorf("link: unknown action %q", byte(action))
	}
	b := make([]byte, fixedLen, fixedLen+len(orderID)+macLen)
	b[0] = linkVersion
	b[1] = byte(action)
	binary.BigEndian.PutUint64(b[2:10], uint64(expires.Unix()))
	if _, err := rand.Read(b[10:fixedLen]); err != nil {
		return "", err
	}
	b = append(b, orderID...)
	b = append(b, s.mac(accountID, b)...)
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func (s *Signer) mac(accountID string, body []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(linkDomain))
	h.Write([]byte(accountID))
	h.Write([]byte{0})
	h.Write(body)
	return h.Sum(nil)[:macLen]
}

// ParseLink reads a token without checking it: the caller looks up the
// order's account and calls Verify.
func ParseLink(token string) (Link, error) {
	if len(token) > maxTokenLen {
		return Link{}, ErrBadLink
	}
	// Only the URL-safe alphabet: the decoder would skip line breaks, and
	// one link has one spelling.
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return Link{}, ErrBadLink
		}
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < fixedLen+1+macLen || b[0] != linkVersion {
		return Link{}, ErrBadLink
	}
	body, mac := b[:len(b)-macLen], b[len(b)-macLen:]
	l := Link{
		Action:  Action(body[1]),
		Expires: time.Unix(int64(binary.BigEndian.Uint64(body[2:10])), 0).UTC(),
		OrderID: string(body[fixedLen:]),
		mac:     mac,
		body:    body,
	}
	copy(l.Nonce[:], body[10:fixedLen])
	if l.Action != ActionSkip && l.Action != ActionShip {
		return Link{}, ErrBadLink
	}
	return l, nil
}

// Verify checks that the link was signed for an order of accountID and
// has not expired.
func (s *Signer) Verify(l Link, accountID string) error {
	if len(l.body) == 0 || !hmac.Equal(l.mac, s.mac(accountID, l.body)) {
		return ErrBadLink
	}
	if !s.now().Before(l.Expires) {
		return ErrLinkExpired
	}
	return nil
}
