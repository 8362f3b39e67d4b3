// Command client is a real XMPP client for the browser tests in
// scripts/web: it logs an account in over direct TLS with SCRAM-SHA-256
// (mellium.im/xmpp), binds a resource the server picks, sends presence, prints
// "online FULLJID", then stays connected until the server ends the stream
// and prints "closed". It gives up after -max, so that a test that never
// kicks it leaves nothing running.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
)

func main() {
	addr := flag.String("addr", "", "host:port of a direct-TLS client listener")
	who := flag.String("jid", "", "account's bare JID")
	pass := flag.String("password", "", "account's password")
	maxLife := flag.Duration("max", time.Minute, "give up after this long")
	flag.Parse()
	if err := run(*addr, *who, *pass, *maxLife); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

func run(addr, who, pass string, maxLife time.Duration) error {
	j, err := jid.Parse(who)
	if err != nil {
		return fmt.Errorf("jid: %w", err)
	}
	// The context outlives the calls that get it: mellium watches it on a
	// goroutine after a call returned.
	ctx, cancel := context.WithTimeout(context.Background(), maxLife)
	defer cancel()
	conn, err := (&tls.Dialer{Config: &tls.Config{ServerName: j.Domain().String(), InsecureSkipVerify: true}}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	time.AfterFunc(maxLife, func() { conn.Close() })
	sess, err := xmpp.NewClientSession(ctx, j.Bare(), conn, xmpp.BindResource(), xmpp.SASL("", pass, sasl.ScramSha256))
	if err != nil {
		return err
	}
	if err := sess.Send(ctx, stanza.Presence{}.Wrap(nil)); err != nil {
		return err
	}
	fmt.Println("online", sess.LocalAddr())
	// The server ending the stream is what the test waits for, so how
	// Serve ends is no error of this program.
	sess.Serve(nil)
	fmt.Println("closed")
	return nil
}
