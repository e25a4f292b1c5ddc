package printer

import (
	"errors"
	"fmt"
)

// MaxSerialLen is the longest serial number accepted.
const MaxSerialLen = 64

// CheckSerial reports why s cannot be a printer's serial number, or nil.
// A serial is 1 to MaxSerialLen ASCII letters and digits, with '-', '_',
// '.', '/' and ':' between them (Canon KMBA01234, HP CN0A1B2C3D, Epson
// X5H3001234); the service and the fleet CSV both use this rule.
func CheckSerial(s string) error {
	if s == "" {
		return errors.New("the serial number is empty")
	}
	if len(s) > MaxSerialLen {
		return fmt.Errorf("the serial number is longer than %d characters", MaxSerialLen)
	}
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r == '-' || r == '_' || r == '.' || r == '/' || r == ':':
		default:
			return fmt.Errorf("%q is not a serial number: only letters, digits and - _ . / : may be used", s)
		}
	}
	return nil
}
