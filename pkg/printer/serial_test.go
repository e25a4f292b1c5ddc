package printer

import (
	"strings"
	"testing"
)

func TestCheckSerial(t *testing.T) {
	for _, ok := range []string{"KMBA01234", "CN0A1B2C3D", "X5H3001234", "E12345-A6N", "abc_1.2/3:4"} {
		if err := CheckSerial(ok); err != nil {
			t.Errorf("CheckSerial(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "not a serial!!", "KMBA 01234", "KMBA01234\n", "ＫＭＢＡ", strings.Repeat("A", MaxSerialLen+1)} {
		if CheckSerial(bad) == nil {
			t.Errorf("CheckSerial(%q) accepted", bad)
		}
	}
}
