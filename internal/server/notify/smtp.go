// Package notify tells owners about their orders by email: it composes
// the message (text and HTML), sends it over SMTP, signs the one-click
// links it carries, and runs the background sender that takes each notice
// from the store's queue once, however many arsd replicas run.
package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TLS modes of SMTPConfig.TLS.
const (
	// TLSStartTLS upgrades a plain connection with STARTTLS and refuses to
	// go on without it (submission, port 587). The default.
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (submissions, port 465).
	TLSImplicit = "tls"
)

// SMTPConfig is how to reach the mail server.
type SMTPConfig struct {
	// Host and Port of the submission server. Port defaults to 587, or
	// 465 with TLSImplicit.
	Host string
	Port int
	// Username and Password authenticate (SMTP AUTH, PLAIN or LOGIN
	// over TLS, as the server offers); both empty sends without AUTH.
	Username string
	Password string
	// TLS is TLSStartTLS (default) or TLSImplicit. There is no plain
	// mode: a password and the one-click links never cross the network
	// unencrypted.
	TLS string
	// From is the sender, e.g. "Ink service <ink@example.com>".
	From string
	// RootCAs, when set, replaces the system roots (a private mail relay,
	// tests).
	RootCAs *x509.CertPool
	// Timeout bounds connecting and each SMTP exchange. Default 30s.
	Timeout time.Duration
}

// Message is one composed email.
type Message struct {
	// MessageID is the Message-ID without angle brackets; one notice
	// keeps one ID, so that a notice sent twice (a replica died between
	// sending and recording it) is one message to mail software.
	MessageID string
	To        string
	Subject   string
	Text      string
	HTML      string
}

// ErrPermanent marks a send the mail server refused for good (a 5xx
// reply, e.g. an unknown recipient): trying again would not help.
var ErrPermanent = errors.New("refused by the mail server")

// Mailer sends messages over SMTP. Create it with NewMailer.
type Mailer struct {
	cfg  SMTPConfig
	from *mail.Address
}

// NewMailer checks the configuration.
func NewMailer(cfg SMTPConfig) (*Mailer, error) {
	if cfg.Host == "" {
		return nil, errors.New("smtp: host is required")
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = TLSStartTLS
	case TLSStartTLS, TLSImplicit:
	default:
		return nil, fmt.Errorf("smtp: tls %q: want %q or %q", cfg.TLS, TLSStartTLS, TLSImplicit)
	}
	if cfg.Port == 0 {
		cfg.Port = 587
		if cfg.TLS == TLSImplicit {
			cfg.Port = 465
		}
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("smtp: port %d out of range", cfg.Port)
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		return nil, errors.New("smtp: user and password go together")
	}
	if cfg.From == "" {
		return nil, errors.New("smtp: a from address is required")
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: from address %q: %w", cfg.From, err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &Mailer{cfg: cfg, from: from}, nil
}

// From returns the sender's address.
func (m *Mailer) From() string { return m.from.Address }

// Send delivers one message. Errors name the step that failed; they never
// carry the password.
func (m *Mailer) Send(ctx context.Context, msg Message) error {
	gm := gomail.NewMsg()
	if err := gm.FromFormat(m.from.Name, m.from.Address); err != nil {
		return fmt.Errorf("from: %w", err)
	}
	if err := gm.To(msg.To); err != nil {
		return fmt.Errorf("recipient %q: %w", msg.To, err)
	}
	gm.Subject(msg.Subject)
	gm.SetDate()
	if msg.MessageID != "" {
		gm.SetMessageIDWithValue(msg.MessageID)
	}
	// Automatic mail: no out-of-office replies to it (RFC 3834).
	gm.SetGenHeader("Auto-Submitted", "auto-generated")
	gm.SetBodyString(gomail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		gm.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	c, err := m.client()
	if err != nil {
		return err
	}
	if err := c.DialAndSendWithContext(ctx, gm); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
			return fmt.Errorf("smtp %s:%d: %w: %w", m.cfg.Host, m.cfg.Port, ErrPermanent, err)
		}
		return fmt.Errorf("smtp %s:%d: %w", m.cfg.Host, m.cfg.Port, err)
	}
	return nil
}

func (m *Mailer) client() (*gomail.Client, error) {
	tc := &tls.Config{ServerName: m.cfg.Host, RootCAs: m.cfg.RootCAs, MinVersion: tls.VersionTLS12}
	opts := []gomail.Option{
		gomail.WithPort(m.cfg.Port),
		gomail.WithTimeout(m.cfg.Timeout),
		gomail.WithTLSConfig(tc),
		gomail.WithHELO(helo(m.from.Address)),
	}
	if m.cfg.TLS == TLSImplicit {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if m.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(m.cfg.Username), gomail.WithPassword(m.cfg.Password))
	}
	c, err := gomail.NewClient(m.cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp client: %w", err)
	}
	return c, nil
}

// helo is the name given in EHLO: the sender's domain, which a relay
// sees more kindly than "localhost".
func helo(from string) string {
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i+1 < len(from) {
		return from[i+1:]
	}
	return "localhost"
}
