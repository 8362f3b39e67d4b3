package time

import (
	"testing"
	"time"

	"xmppd/internal/stanza"
)

func TestAppendTime(t *testing.T) {
	for _, tc := range []struct {
		zone *time.Location
		want string
	}{
		{time.FixedZone("CST", -6*3600), "<time xmlns='urn:xmpp:time'><tzo>-06:00</tzo><utc>2006-12-19T17:58:35.250Z</utc></time>"},
		{time.FixedZone("IST", 5*3600+1800), "<time xmlns='urn:xmpp:time'><tzo>+05:30</tzo><utc>2006-12-19T17:58:35.250Z</utc></time>"},
		{time.UTC, "<time xmlns='urn:xmpp:time'><tzo>+00:00</tzo><utc>2006-12-19T17:58:35.250Z</utc></time>"},
	} {
		at := time.Date(2006, 12, 19, 17, 58, 35, 250e6, time.UTC).In(tc.zone)
		var b stanza.Builder
		b.Reset(nil)
		appendTime(&b, at)
		if got := string(b.Bytes()); got != tc.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tc.zone, got, tc.want)
		}
	}
}
