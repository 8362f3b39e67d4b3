package roster

import (
	"strings"
	"testing"
)

// The states of RFC 6121 Appendix A, in the order of the columns below.
var states = []string{"None", "None+PendingOut", "None+PendingIn", "None+PendingOut+PendingIn",
	"To", "To+PendingIn", "From", "From+PendingOut", "Both"}

func itemOf(state string) Item {
	parts := strings.Split(state, "+")
	it := Item{Subscription: strings.ToLower(parts[0])}
	for _, p := range parts[1:] {
		switch p {
		case "PendingOut":
			it.Ask = true
		case "PendingIn":
			it.PendingIn, it.Request = true, []byte("<presence/>")
		}
	}
	return it
}

func stateOf(it Item) string {
	s := strings.ToUpper(it.Subscription[:1]) + it.Subscription[1:]
	if it.Ask {
		s += "+PendingOut"
	}
	if it.PendingIn {
		s += "+PendingIn"
	}
	if it.Approved {
		s += "+Approved"
	}
	return s
}

// TestTransitions checks Item.Outbound and Item.Inbound against the state
// tables of RFC 6121 Appendix A ("-" is no state change).
func TestTransitions(t *testing.T) {
	for _, tc := range []struct {
		outbound bool
		typ      string
		want     []string // per state, in the order of states
	}{
		// RFC 6121 Appendix A.2.1 / A.3.1 (user's server, outbound).
		{true, Subscribe, []string{"None+PendingOut", "-", "None+PendingOut+PendingIn", "-", "-", "-", "From+PendingOut", "-", "-"}},
		// With pre-approval (RFC 6121 §3.4.1): an unsolicited
		// 'subscribed' to a contact without a subscription from the user
		// is kept as approved='true'.
		{true, Subscribed, []string{"None+Approved", "None+PendingOut+Approved", "From", "From+PendingOut", "To+Approved", "Both", "-", "-", "-"}},
		{true, Unsubscribe, []string{"-", "None", "-", "None+PendingIn", "None", "None+PendingIn", "-", "From", "From"}},
		{true, Unsubscribed, []string{"-", "-", "None", "None+PendingOut", "-", "To", "None", "None+PendingOut", "To"}},
		// RFC 6121 Appendix A.2.2 / A.3.2 (contact's server, inbound).
		{false, Subscribe, []string{"None+PendingIn", "None+PendingOut+PendingIn", "-", "-", "To+PendingIn", "-", "-", "-", "-"}},
		{false, Subscribed, []string{"-", "To", "-", "To+PendingIn", "-", "-", "-", "Both", "-"}},
		{false, Unsubscribe, []string{"-", "-", "None", "None+PendingOut", "-", "To", "None", "None+PendingOut", "To"}},
		{false, Unsubscribed, []string{"-", "None", "-", "None+PendingIn", "None", "None+PendingIn", "-", "From", "From"}},
	} {
		for i, from := range states {
			it := itemOf(from)
			var changed bool
			if tc.outbound {
				changed = it.Outbound(tc.typ)
			} else {
				changed = it.Inbound(tc.typ)
			}
			got := stateOf(it)
			if !changed {
				if got != from {
					t.Errorf("outbound=%v %s in %s: unchanged but now %s", tc.outbound, tc.typ, from, got)
				}
				got = "-"
			}
			if got != tc.want[i] {
				t.Errorf("outbound=%v %s in %s: got %s, want %s", tc.outbound, tc.typ, from, got, tc.want[i])
			}
			if !it.PendingIn && it.Request != nil {
				t.Errorf("outbound=%v %s in %s: request kept without PendingIn", tc.outbound, tc.typ, from)
			}
		}
	}
}

// TestPreApproved checks the inbound 'subscribe' that meets a pre-approval
// (RFC 6121 §3.4.2) and the 'unsubscribed' that cancels one.
func TestPreApproved(t *testing.T) {
	for from, want := range map[string]string{"None": "From", "None+PendingOut": "From+PendingOut", "To": "Both"} {
		it := itemOf(from)
		it.Outbound(Subscribed)
		if !it.PreApproved() || stateOf(it) != want {
			t.Errorf("pre-approved %s: %s, want %s", from, stateOf(it), want)
		}
		if it.PreApproved() {
			t.Errorf("pre-approval of %s used twice", from)
		}
		it = itemOf(from)
		it.Outbound(Subscribed)
		if !it.Outbound(Unsubscribed) || it.Approved || stateOf(it) != from {
			t.Errorf("cancelled pre-approval of %s: %s", from, stateOf(it))
		}
	}
	it := itemOf("None")
	if it.PreApproved() {
		t.Error("approved without a pre-approval")
	}
}

// TestHiddenItems checks that a record made for a pending inbound request
// is not shown, becomes an item once the user approves, and is dropped once
// nothing is pending.
func TestHiddenItems(t *testing.T) {
	it := Item{Subscription: None, Hidden: true}
	if !it.Inbound(Subscribe) || !it.Hidden || it.unused() {
		t.Fatalf("after inbound subscribe: %+v", it)
	}
	approved := it
	if !approved.Outbound(Subscribed) || approved.Hidden || approved.Subscription != From {
		t.Fatalf("after approval: %+v", approved)
	}
	denied := it
	if !denied.Outbound(Unsubscribed) || !denied.unused() {
		t.Fatalf("after denial: %+v", denied)
	}
	asked := it
	if !asked.Outbound(Subscribe) || asked.Hidden || !asked.Ask || !asked.PendingIn {
		t.Fatalf("after a request back: %+v", asked)
	}
	a, b := Item{Hidden: true, PendingIn: true}, Item{Hidden: true, Request: []byte("x")}
	if !sameView(&a, &b) {
		t.Fatal("hidden records differ in view")
	}
}
