package bookmarks

import (
	"strconv"
	"testing"
)

// TestCheckedIsBounded: the set of accounts already looked at does not
// grow with every account that ever logged in.
func TestCheckedIsBounded(t *testing.T) {
	var m Module
	for i := range 3 * maxChecked {
		m.markChecked("u" + strconv.Itoa(i))
		if len(m.checked) > maxChecked {
			t.Fatalf("%d accounts kept", len(m.checked))
		}
	}
	if !m.isChecked("u" + strconv.Itoa(3*maxChecked-1)) {
		t.Fatal("the latest account was forgotten")
	}
}
