package core

import (
	"errors"
	"time"

	"xmppd/internal/jid"
	"xmppd/internal/sasl"
	"xmppd/internal/storage"
)

//go:generate msgp -tests=false -file accounts.go -o accounts_gen.go

// AccountRecord is what the accounts store keeps per user: SCRAM
// credentials, never the password.
type AccountRecord struct {
	Creds    []CredRecord `msg:"creds"`
	Created  int64        `msg:"created"` // unix seconds
	Disabled bool         `msg:"disabled"`
}

// CredRecord is one hash's SCRAM credentials.
type CredRecord struct {
	Hash       string `msg:"hash"`
	Salt       []byte `msg:"salt"`
	Iterations int    `msg:"iter"`
	StoredKey  []byte `msg:"stored"`
	ServerKey  []byte `msg:"server"`
}

// Account errors.
var (
	ErrAccountExists  = errors.New("account already exists")
	ErrNoAccount      = errors.New("no such account")
	ErrUnknownHost    = errors.New("not a host of this server")
	ErrAccountInvalid = errors.New("invalid account name")
)

// Accounts manages user accounts. Writes are durable: an account exists on
// disk before anyone is told it was created.
type Accounts struct {
	srv *Server
	kv  *storage.KeyVal
}

// prep checks host and prepares the localpart (RFC 7622 §3.3).
func (a *Accounts) prep(host, user string) (string, error) {
	if a.srv.userHost(host) == nil {
		return "", ErrUnknownHost
	}
	j, err := jid.New(user, host, "")
	if err != nil || j.Local() == "" {
		return "", ErrAccountInvalid
	}
	return j.Local(), nil
}

func newRecord(password string) (*AccountRecord, error) {
	rec := &AccountRecord{Created: time.Now().Unix()}
	for _, h := range []string{sasl.SHA256, sasl.SHA1} {
		c, err := sasl.NewCredentials(h, password, sasl.DefaultIterations)
		if err != nil {
			return nil, err
		}
		rec.Creds = append(rec.Creds, CredRecord{c.Hash, c.Salt, c.Iterations, c.StoredKey, c.ServerKey})
	}
	return rec, nil
}

// Create adds an account.
func (a *Accounts) Create(host, user, password string) error {
	local, err := a.prep(host, user)
	if err != nil {
		return err
	}
	var old AccountRecord
	if found, err := a.kv.Get(host, local, &old); err != nil {
		return err
	} else if found {
		return ErrAccountExists
	}
	rec, err := newRecord(password)
	if err != nil {
		return err
	}
	if err := a.kv.Set(host, local, rec); err != nil {
		return err
	}
	a.srv.Log.Info("account created", "jid", local+"@"+host)
	return nil
}

// existing prepares user and reads its record, which must exist.
func (a *Accounts) existing(host, user string) (string, *AccountRecord, error) {
	local, err := a.prep(host, user)
	if err != nil {
		return "", nil, err
	}
	var rec AccountRecord
	if found, err := a.kv.Get(host, local, &rec); err != nil {
		return "", nil, err
	} else if !found {
		return "", nil, ErrNoAccount
	}
	return local, &rec, nil
}

// SetPassword replaces an account's credentials.
func (a *Accounts) SetPassword(host, user, password string) error {
	local, old, err := a.existing(host, user)
	if err != nil {
		return err
	}
	rec, err := newRecord(password)
	if err != nil {
		return err
	}
	rec.Created, rec.Disabled = old.Created, old.Disabled
	if err := a.kv.Set(host, local, rec); err != nil {
		return err
	}
	a.srv.Log.Info("account password changed", "jid", local+"@"+host)
	return nil
}

// Delete removes an account and every record of its user, and closes its
// sessions.
func (a *Accounts) Delete(host, user string) error {
	local, _, err := a.existing(host, user)
	if err != nil {
		return err
	}
	if err := a.srv.DB.DeleteUser(host, local); err != nil {
		return err
	}
	a.srv.Log.Info("account deleted", "jid", local+"@"+host)
	h := a.srv.userHost(host)
	h.Events.Fire(EventAccountDeleted, &Event{Host: h, Data: local})
	var gone []*Session
	h.Sessions(local, func(s *Session) { gone = append(gone, s) })
	for _, s := range gone {
		s.Close("not-authorized", "account deleted")
	}
	return nil
}

// Exists reports whether a prepared localpart has an account on host.
func (a *Accounts) Exists(host, local string) bool {
	var rec AccountRecord
	found, err := a.kv.Get(host, local, &rec)
	return err == nil && found && !rec.Disabled
}

// List returns the accounts of host, sorted.
func (a *Accounts) List(host string) ([]string, error) {
	if a.srv.userHost(host) == nil {
		return nil, ErrUnknownHost
	}
	return a.kv.Users(host)
}

// Lookup returns the SASL credential lookup for host.
func (a *Accounts) Lookup(host string) sasl.Lookup {
	return func(username, hash string) (sasl.Credentials, error) {
		j, err := jid.New(username, host, "")
		if err != nil || j.Local() == "" {
			return sasl.Credentials{}, sasl.ErrUnknownUser
		}
		var rec AccountRecord
		found, err := a.kv.Get(host, j.Local(), &rec)
		if err != nil {
			return sasl.Credentials{}, err
		}
		if !found || rec.Disabled {
			return sasl.Credentials{}, sasl.ErrUnknownUser
		}
		for _, c := range rec.Creds {
			if c.Hash == hash {
				return sasl.Credentials{Hash: c.Hash, Salt: c.Salt, Iterations: c.Iterations, StoredKey: c.StoredKey, ServerKey: c.ServerKey}, nil
			}
		}
		return sasl.Credentials{}, sasl.ErrUnknownUser
	}
}
