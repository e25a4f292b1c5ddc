//go:build windows

package iostreams

import (
	"os"

	"golang.org/x/sys/windows"
)

// terminalWidth asks the console behind f for its width (0 when f is not
// a console).
func terminalWidth(f *os.File) int {
	var info windows.ConsoleScreenBufferInfo
	if err := windows.GetConsoleScreenBufferInfo(windows.Handle(f.Fd()), &info); err != nil {
		return 0
	}
	return int(info.Window.Right - info.Window.Left + 1)
}
