// Package termquery keeps arsctl from asking the terminal anything when it
// starts. Bubble Tea's package initialisation asks the terminal on stdout
// for its background colour (OSC 11, through Lip Gloss and termenv), so
// that prompts drawn later pick readable colours. Every command paid for
// it, even `arsctl --version`: a round trip to the terminal (over SSH, one
// across the network), and termenv's 5-second timeout on a terminal that
// does not answer.
//
// This package's initialisation runs before Bubble Tea's (packages are
// initialised in import-path order once their imports are, and
// github.com/arsctl sorts before github.com/charmbracelet/bubbletea; both
// wait only for Lip Gloss) and tells Lip Gloss the background is dark,
// termenv's own answer when it cannot tell, so Bubble Tea asks nothing.
// Background asks the terminal for real, once, before the first prompt.
package termquery

import (
	"os"
	"sync"

	"github.com/charmbracelet/lipgloss"
)

func init() { lipgloss.SetHasDarkBackground(true) }

var once sync.Once

// Background asks the terminal on stdout for its background colour, the
// first time it is called, and tells Lip Gloss. A prompt calls it before
// it takes the terminal; with NO_COLOR set, prompts have no colours to
// choose and nothing is asked.
func Background() {
	once.Do(func() {
		if os.Getenv("NO_COLOR") != "" {
			return
		}
		lipgloss.SetHasDarkBackground(lipgloss.NewRenderer(os.Stdout).HasDarkBackground())
	})
}
