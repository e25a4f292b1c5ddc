//go:build unix

package iostreams

import (
	"os"

	"golang.org/x/sys/unix"
)

// terminalWidth asks the terminal behind f for its width (0 when f is
// not a terminal).
func terminalWidth(f *os.File) int {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}
