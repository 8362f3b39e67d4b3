package sasl_test

import (
	"errors"
	"fmt"
	"time"

	"xmppd/internal/sasl"
)

// An exchange as the stream layer drives it: offer, pick, step until done,
// and count failures against the address and the account.
func Example() {
	creds, err := sasl.NewCredentials(sasl.SHA256, "r0m30!", 0)
	if err != nil {
		panic(err)
	}
	lookup := func(username, hash string) (sasl.Credentials, error) {
		if username == "juliet" && hash == sasl.SHA256 {
			return creds, nil
		}
		return sasl.Credentials{}, sasl.ErrUnknownUser
	}
	throttle := sasl.NewThrottle(10000)
	now := time.Now()

	// On a stream without TLS there is no binding to offer.
	offered := sasl.Mechanisms(false, sasl.ChannelBinding{}, false)
	fmt.Println(offered)

	if ok, _ := throttle.Allow("ip:192.0.2.7", now); !ok {
		return
	}
	client, _ := sasl.NewClient(sasl.SCRAMSHA256, "juliet", "r0m30!", "", sasl.ChannelBinding{})
	server, _ := sasl.NewServer(sasl.SCRAMSHA256, lookup, sasl.ChannelBinding{}, false)
	resp, _ := client.Step(nil)
	for {
		out, done, err := server.Step(resp)
		var f *sasl.Failure
		if errors.As(err, &f) {
			throttle.Failure("ip:192.0.2.7", now)
			throttle.Failure("user:"+server.Username(), now)
			fmt.Println("failure:", f.Condition)
			return
		}
		if done {
			if _, err := client.Step(out); err != nil {
				fmt.Println("client:", err)
				return
			}
			// The address is not forgiven: one good account must not
			// reset the count of guesses made at others from it.
			throttle.Success("user:" + server.Username())
			fmt.Println("success:", server.Username())
			return
		}
		resp, _ = client.Step(out)
	}
	// Output:
	// [SCRAM-SHA-256 SCRAM-SHA-1]
	// success: juliet
}
