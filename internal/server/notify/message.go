package notify

import (
	"bytes"
	_ "embed"
	"fmt"
	htmltemplate "html/template"
	"math"
	"strings"
	"text/template"
	"time"

	"github.com/arsctl/arsctl/pkg/forecast"
	"github.com/arsctl/arsctl/pkg/printer"
)

// Notice is what an order email says.
type Notice struct {
	// ID names the notice (its order's ID); the Message-ID derives from it.
	ID string
	// To is the recipient; Name greets them when set.
	To   string
	Name string
	// Printer is the printer's label and model, e.g. "Office (TS8320)".
	Printer string
	// Supply is the supply's name and Level its level when the order was
	// made (percent, or a printer package special value).
	Supply string
	Level  int
	// Forecast is the supply's forecast when the notice was composed;
	// nil when none was at hand.
	Forecast *forecast.Forecast
	// Scheduled is true when the order waits for HoldUntil before it is
	// handed to the fulfiller: the mail then offers the skip and ship
	// links.
	Scheduled bool
	HoldUntil time.Time
	// SkipURL and ShipURL are the signed one-click links (empty when the
	// order is not scheduled); PrinterURL is View Printer Details and
	// SettingsURL the email settings page.
	SkipURL     string
	ShipURL     string
	PrinterURL  string
	SettingsURL string
}

//go:embed templates/order.txt
var orderText string

//go:embed templates/order.html
var orderHTML string

var (
	textTmpl = template.Must(template.New("order.txt").Funcs(funcs).Parse(orderText))
	htmlTmpl = htmltemplate.Must(htmltemplate.New("order.html").Funcs(htmltemplate.FuncMap(funcs)).Parse(orderHTML))
)

var funcs = template.FuncMap{
	"level":    LevelText,
	"forecast": ForecastText,
	"when":     func(t time.Time) string { return t.UTC().Format("Mon 2 Jan 2006 15:04 MST") },
}

// Compose writes the email of a notice: a subject, a plain text body and
// the same in HTML. Everything shown comes from the notice; names from
// printers are escaped in the HTML and stripped of line breaks in the
// subject.
func Compose(n Notice, messageDomain string) (Message, error) {
	var subj string
	if n.Scheduled {
		subj = fmt.Sprintf("Ink order for %s: %s ships %s unless you skip it", oneLine(n.Printer), oneLine(n.Supply), n.HoldUntil.UTC().Format("Mon 2 Jan 15:04 MST"))
	} else {
		subj = fmt.Sprintf("Ink ordered for %s: %s", oneLine(n.Printer), oneLine(n.Supply))
	}
	var tb, hb bytes.Buffer
	if err := textTmpl.Execute(&tb, n); err != nil {
		return Message{}, fmt.Errorf("compose text: %w", err)
	}
	if err := htmlTmpl.Execute(&hb, n); err != nil {
		return Message{}, fmt.Errorf("compose html: %w", err)
	}
	return Message{
		MessageID: "order-" + n.ID + "@" + messageDomain,
		To:        n.To,
		Subject:   subj,
		Text:      tb.String(),
		HTML:      hb.String(),
	}, nil
}

// oneLine keeps a header value on one line, whatever a printer named
// itself.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }), " ")
}

// LevelText says a level in words: "12 %", or what a special value means.
func LevelText(level int) string {
	switch {
	case level >= 0 && level <= 100:
		return fmt.Sprintf("%d %%", level)
	case level == printer.LevelSomeRemaining:
		return "some remaining"
	}
	return "unknown"
}

// ForecastText says a forecast in words, e.g. "about 9 days left
// (7–12), at 3.1 % a day", and where the rate comes from when it is the
// fleet's ("at 3.1 % a day, the rate of 12 printers of the same model").
func ForecastText(f *forecast.Forecast) string {
	if f == nil || !f.Known {
		return "not enough readings yet for a forecast"
	}
	if math.IsInf(f.DaysToEmpty, 1) || f.Rate <= 0 {
		return "not being used at the moment"
	}
	s := fmt.Sprintf("about %s left (%s–%s), at %.1f %% a day",
		days(f.DaysToEmpty), wholeDays(f.DaysLow), wholeDays(f.DaysHigh), f.Rate)
	if f.Prior != nil {
		s += ", the " + f.Prior.Text()
	}
	return s
}

func days(d float64) string {
	n := wholeDays(d)
	if n == "1" {
		return "1 day"
	}
	return n + " days"
}

func wholeDays(d float64) string {
	if math.IsInf(d, 1) || d > 9999 {
		return "∞"
	}
	return fmt.Sprintf("%.0f", math.Max(0, d))
}
