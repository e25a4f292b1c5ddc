// Package prompt asks the user questions with charmbracelet/huh, behind a
// small interface so commands can be tested with scripted answers.
// Prompts are drawn on stderr; callers must check IOStreams.CanPrompt
// first. Ctrl-C returns ErrAborted (huh.ErrUserAborted), which
// cmdutil.IsCancel counts as the user cancelling (exit 5).
package prompt

import (
	"errors"
	"io"

	"github.com/charmbracelet/huh"

	"github.com/arsctl/arsctl/internal/termquery"
)

// ErrAborted is returned when the user aborts a prompt (Ctrl-C).
var ErrAborted = huh.ErrUserAborted

// Option is one choice in a Select or MultiSelect.
type Option struct {
	Label string
	Value string
}

// Prompter asks questions.
type Prompter interface {
	// Select returns the Value of the chosen option.
	Select(title, description string, options []Option) (string, error)
	// MultiSelect returns the Values of the chosen options (at least min).
	MultiSelect(title, description string, options []Option, min int) ([]string, error)
	// Confirm asks a yes/no question with custom button labels.
	Confirm(title, description, affirmative, negative string, def bool) (bool, error)
	// Input asks for a line of text; validate may be nil.
	Input(title, placeholder string, validate func(string) error) (string, error)
	// Password asks for a secret without echo.
	Password(title string) (string, error)
}

// Huh is the Prompter used on a real terminal.
type Huh struct {
	In  io.Reader
	Out io.Writer // stderr
}

// run runs a form of one field. Ctrl-C is huh.ErrUserAborted, which is
// ErrAborted.
func (h *Huh) run(f huh.Field) error {
	// The terminal's background colour, asked before the form takes the
	// terminal (and not when arsctl starts).
	termquery.Background()
	return huh.NewForm(huh.NewGroup(f)).WithInput(h.In).WithOutput(h.Out).WithShowHelp(true).Run()
}

// Select implements Prompter.
func (h *Huh) Select(title, description string, options []Option) (string, error) {
	var v string
	opts := make([]huh.Option[string], len(options))
	for i, o := range options {
		opts[i] = huh.NewOption(o.Label, o.Value)
	}
	err := h.run(huh.NewSelect[string]().Title(title).Description(description).Options(opts...).Value(&v))
	return v, err
}

// MultiSelect implements Prompter.
func (h *Huh) MultiSelect(title, description string, options []Option, min int) ([]string, error) {
	var v []string
	opts := make([]huh.Option[string], len(options))
	for i, o := range options {
		opts[i] = huh.NewOption(o.Label, o.Value)
	}
	f := huh.NewMultiSelect[string]().Title(title).Description(description).Options(opts...).Value(&v).
		Validate(func(s []string) error {
			if len(s) < min {
				return errors.New("select at least one (space to select, enter to confirm)")
			}
			return nil
		})
	err := h.run(f)
	return v, err
}

// Confirm implements Prompter.
func (h *Huh) Confirm(title, description, affirmative, negative string, def bool) (bool, error) {
	v := def
	err := h.run(huh.NewConfirm().Title(title).Description(description).Affirmative(affirmative).Negative(negative).Value(&v))
	return v, err
}

// Input implements Prompter.
func (h *Huh) Input(title, placeholder string, validate func(string) error) (string, error) {
	var v string
	f := huh.NewInput().Title(title).Placeholder(placeholder).Value(&v)
	if validate != nil {
		f = f.Validate(validate)
	}
	err := h.run(f)
	return v, err
}

// Password implements Prompter.
func (h *Huh) Password(title string) (string, error) {
	var v string
	err := h.run(huh.NewInput().Title(title).EchoMode(huh.EchoModePassword).Value(&v))
	return v, err
}
