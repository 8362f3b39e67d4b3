package admin

import (
	"errors"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/modules/pubsub"
)

// Codes of a Response's failure, which `xmppd publish` and `xmppd items`
// turn into exit statuses.
const (
	CodeNoAccount  = "no-account"
	CodeForbidden  = "forbidden"
	CodeBadPayload = "bad-payload"
	CodeNoNode     = "no-node"
)

// Item is one stored item in a Response to items.
type Item struct {
	ID        string `json:"id"`
	Publisher string `json:"publisher,omitempty"`
	Payload   string `json:"payload"`
}

// options are the admin module's UCI options.
type options struct {
	publishAccounts []string // who `xmppd publish` may publish as; none: any account
}

func readOptions(r *config.Reader) options {
	o := options{publishAccounts: r.List("publish_accounts")}
	for _, a := range o.publishAccounts {
		if j, err := jid.Parse(a); err != nil || j.Local() == "" || j.Resource() != "" {
			r.Errorf("publish_accounts", "list publish_accounts: %q is not a bare JID", a)
		}
	}
	r.Unknown()
	return o
}

// accountant is what the monitor module offers as its service: its
// account is the default of publish and items.
type accountant interface{ Account() jid.JID }

// handlePubsub runs publish and items, which need the running daemon's
// pubsub engine.
func (m *Module) handlePubsub(req Request) Response {
	var resp Response
	fail := func(code string, err error) Response {
		return Response{Code: code, Error: err.Error()}
	}
	account, err := m.account(req.JID)
	if err != nil {
		return fail(CodeNoAccount, err)
	}
	h := m.srv.Host(account.Domain())
	if h == nil {
		return fail(CodeNoAccount, errors.New("no such account "+account.String()+": the server does not serve "+account.Domain()))
	}
	if !m.srv.Accounts.Exists(account.Domain(), account.Local()) {
		return fail(CodeNoAccount, errors.New("no such account "+account.String()))
	}
	ps, ok := core.ServiceOf[*pubsub.Module](h, pubsub.Service)
	if !ok {
		return fail("", errors.New("pubsub is not enabled on "+h.Name))
	}
	if req.Node == "" {
		return fail(CodeNoNode, errors.New("no node given"))
	}
	switch req.Cmd {
	case "publish":
		if !m.mayPublishAs(account) {
			return fail(CodeForbidden, errors.New("not allowed to publish as "+account.String()+": it is not in the admin module's list publish_accounts"))
		}
		id, err := ps.PublishPEP(account, req.Node, req.ID, []byte(req.Payload))
		if err != nil {
			return fail(codeOf(err), describe(err, account))
		}
		resp.ItemID = id
	case "items":
		items, err := ps.ItemsPEP(account, req.Node, req.Max)
		if err != nil {
			return fail(codeOf(err), describe(err, account))
		}
		resp.Items = make([]Item, len(items))
		for i, it := range items {
			resp.Items[i] = Item{ID: it.ID, Publisher: it.Publisher, Payload: string(it.Payload)}
		}
	}
	return resp
}

// account reads the request's JID; empty means the monitor's account on
// the first host that runs the monitor, else monitor@ the first host.
func (m *Module) account(s string) (jid.JID, error) {
	if s == "" {
		for _, h := range m.srv.Hosts() {
			if a, ok := h.Service("monitor").(accountant); ok {
				return a.Account(), nil
			}
		}
		s = "monitor@" + m.srv.Hosts()[0].Name
	}
	j, err := jid.Parse(s)
	if err != nil || j.Local() == "" || j.Resource() != "" {
		return jid.JID{}, errors.New("no such account " + s + ": expected a bare JID like monitor@" + m.srv.Hosts()[0].Name)
	}
	return j, nil
}

func (m *Module) mayPublishAs(account jid.JID) bool {
	o := m.opts.Load()
	if len(o.publishAccounts) == 0 {
		return true
	}
	for _, a := range o.publishAccounts {
		if j, err := jid.Parse(a); err == nil && j.Equal(account) {
			return true
		}
	}
	return false
}

func codeOf(err error) string {
	switch {
	case errors.Is(err, pubsub.ErrNoAccount):
		return CodeNoAccount
	case errors.Is(err, pubsub.ErrBadPayload):
		return CodeBadPayload
	case errors.Is(err, pubsub.ErrNoNode):
		return CodeNoNode
	}
	return ""
}

// describe words an error of the pubsub engine for the command line.
func describe(err error, account jid.JID) error {
	if errors.Is(err, pubsub.ErrNoAccount) {
		return errors.New("no such account " + account.String())
	}
	return err
}
