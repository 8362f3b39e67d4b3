package sasl_test

import (
	"errors"
	"fmt"

	"xmppd/internal/sasl"
)

// An exchange as the stream layer drives it: offer, pick, step until done,
// with the attempt reserved against the address and the account before the
// password is checked, and ended by the outcome.
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
	guard := sasl.NewGuard(10000)
	const addr = "192.0.2.7"

	// On a stream without TLS there is no binding to offer.
	offered := sasl.Mechanisms(false, sasl.ChannelBinding{}, false)
	fmt.Println(offered)

	if ok, _ := guard.Allow(addr); !ok {
		return
	}
	client, _ := sasl.NewClient(sasl.SCRAMSHA256, "juliet", "r0m30!", "", sasl.ChannelBinding{})
	server, _ := sasl.NewServer(sasl.SCRAMSHA256, lookup, sasl.ChannelBinding{}, false)
	var attempt sasl.Attempt
	server.Gate = func(username string) *sasl.Failure {
		// A real server prepares the username as a JID localpart first.
		a, wait, ok := guard.Begin(username+"@example.net", addr)
		if !ok {
			return &sasl.Failure{Condition: sasl.TemporaryAuthFailure, Text: "retry in " + wait.String()}
		}
		attempt = a
		return nil
	}
	resp, _ := client.Step(nil)
	for {
		out, done, err := server.Step(resp)
		var f *sasl.Failure
		if errors.As(err, &f) {
			if f.Guess() {
				attempt.Failed()
			} else {
				attempt.Cancel()
			}
			fmt.Println("failure:", f.Condition)
			return
		}
		if done {
			if _, err := client.Step(out); err != nil {
				attempt.Cancel()
				fmt.Println("client:", err)
				return
			}
			attempt.Succeeded()
			fmt.Println("success:", server.Username())
			return
		}
		resp, _ = client.Step(out)
	}
	// Output:
	// [SCRAM-SHA-256 SCRAM-SHA-1]
	// success: juliet
}
