module xmppd

go 1.26
