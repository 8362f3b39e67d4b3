package adhoc

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/stanza"
)

// failure is a command's refusal: a stanza error, with a XEP-0050 §6
// condition of its own when specific is not "".
type failure struct {
	typ, cond, specific, text string
}

// outcome is what a completed command returns: a note, and a result form
// for the commands that report something.
type outcome struct {
	note   string
	result []field
}

// command is one XEP-0133 command.
type command struct {
	node, name, instructions string
	fields                   []field
	run                      func(m *Module, ev *core.Event, f submitted) (outcome, *failure)
}

// maxJIDs bounds the accounts one command names: the form is typed by a
// person, and each delete is a durable write.
const maxJIDs = 100

// commands are the XEP-0133 commands served, in the order disco lists them.
var commands = []*command{
	{node: NSAdmin + "#add-user", name: "Add User", instructions: "Fill out this form to add a user.",
		fields: []field{
			{Var: "accountjid", Type: "jid-single", Label: "The Jabber ID for the account to be added", Required: true},
			{Var: "password", Type: "text-private", Label: "The password for this account", Required: true},
			{Var: "password-verify", Type: "text-private", Label: "Retype password", Required: true},
		}, run: (*Module).addUser},
	{node: NSAdmin + "#delete-user", name: "Delete User", instructions: "Fill out this form to delete users.",
		fields: []field{
			{Var: "accountjids", Type: "jid-multi", Label: "The Jabber ID(s) to delete", Required: true},
		}, run: (*Module).deleteUser},
	{node: NSAdmin + "#change-user-password", name: "Change User Password", instructions: "Fill out this form to change a user's password.",
		fields: []field{
			{Var: "accountjid", Type: "jid-single", Label: "The Jabber ID for this account", Required: true},
			{Var: "password", Type: "text-private", Label: "The password for this account", Required: true},
		}, run: (*Module).changePassword},
	{node: NSAdmin + "#end-user-session", name: "End User Session", instructions: "Fill out this form to end users' sessions.",
		fields: []field{
			{Var: "accountjids", Type: "jid-multi", Label: "The Jabber ID(s) whose sessions end: a bare JID for all of an account's", Required: true},
		}, run: (*Module).endSession},
	{node: NSAdmin + "#get-online-users-list", name: "Get List of Online Users", instructions: "How many users to list.",
		fields: []field{
			{Var: "max_items", Type: "list-single", Label: "Maximum number of items to show", Options: []string{"25", "50", "75", "100", "150", "200", "none"}},
		}, run: (*Module).onlineUsers},
	{node: NSAdmin + "#announce", name: "Send Announcement to Online Users", instructions: "Fill out this form to make an announcement to all active users of this service.",
		fields: []field{
			{Var: "subject", Type: "text-single", Label: "Subject"},
			{Var: "announcement", Type: "text-multi", Label: "Announcement", Required: true},
		}, run: (*Module).announce},
}

// find returns the command of a node, or nil.
func find(node string) *command {
	for _, c := range commands {
		if c.node == node {
			return c
		}
	}
	return nil
}

// command executes a command (XEP-0050 §3): asked without a form, it
// opens a session and sends the form; with the submitted form, in that
// session or at once, it runs.
func (m *Module) command(ev *core.Event) bool {
	if string(ev.Stanza.Type()) != "set" || ev.Origin == nil {
		m.api.Error(ev, core.ErrModify, "bad-request", "commands are executed with an iq set")
		return true
	}
	tree, err := ev.Stanza.Tree()
	if err != nil {
		m.api.Error(ev, core.ErrModify, "bad-request", "")
		return true
	}
	el := tree.Child(NS, "command")
	c := find(el.Attr("node"))
	if c == nil {
		m.refused.Inc()
		m.api.Error(ev, core.ErrCancel, "item-not-found", "no such command")
		return true
	}
	if !m.admin(ev) {
		// XEP-0050 §4.4, XEP-0133 §3: only admins run these.
		m.refused.Inc()
		m.api.Error(ev, core.ErrAuth, "forbidden", "")
		return true
	}
	owner := ev.From.String()
	now := time.Now()
	action := el.Attr("action")
	if id := el.Attr("sessionid"); id != "" {
		if !m.sessions.take(id, c.node, owner, now) {
			m.refused.Inc()
			m.fail(ev, &failure{core.ErrModify, "bad-request", "bad-sessionid", "no such session, or it expired"})
			return true
		}
		if action == "cancel" {
			m.reply(ev, c, id, "canceled", nil)
			return true
		}
		m.finish(ev, c, id, el)
		return true
	}
	switch action {
	case "", "execute", "complete":
	case "cancel":
		m.reply(ev, c, "", "canceled", nil)
		return true
	default:
		m.refused.Inc()
		m.fail(ev, &failure{core.ErrModify, "bad-request", "bad-action", "this command has one stage"})
		return true
	}
	if parseSubmit(el) != nil {
		// A requester that knows the form may submit it at once.
		m.finish(ev, c, "", el)
		return true
	}
	id := m.sessions.start(c.node, owner, now)
	if id == "" {
		m.refused.Inc()
		m.api.Error(ev, core.ErrWait, "resource-constraint", "too many commands under way; try again later")
		return true
	}
	var b stanza.Builder
	b.Reset(nil).Start("actions").Attr("execute", "complete").Start("complete").End().End()
	appendForm(&b, "form", c.name, c.instructions, c.fields)
	m.reply(ev, c, id, "executing", b.Bytes())
	return true
}

// finish runs a command on its submitted form and answers completed.
func (m *Module) finish(ev *core.Event, c *command, id string, el *stanza.Element) {
	f := parseSubmit(el)
	if f == nil {
		m.refused.Inc()
		m.fail(ev, &failure{core.ErrModify, "bad-request", "bad-payload", "submit the command's form"})
		return
	}
	for _, fd := range c.fields {
		if fd.Required && strings.TrimSpace(f.first(fd.Var)) == "" {
			m.refused.Inc()
			m.fail(ev, &failure{core.ErrModify, "bad-request", "bad-payload", "field " + fd.Var + " is required"})
			return
		}
	}
	out, fl := c.run(m, ev, f)
	if fl != nil {
		m.refused.Inc()
		m.fail(ev, fl)
		return
	}
	m.runs.Inc()
	m.api.Log().Info("admin command", "node", c.node, "by", ev.From.Bare().String())
	var b stanza.Builder
	b.Reset(nil)
	if out.note != "" {
		b.Start("note").Attr("type", "info").Text(out.note).End()
	}
	if out.result != nil {
		appendForm(&b, "result", c.name, "", out.result)
	}
	m.reply(ev, c, id, "completed", b.Bytes())
}

// reply answers with a <command/> of the given status around payload.
func (m *Module) reply(ev *core.Event, c *command, id, status string, payload []byte) {
	if id == "" {
		// Every response names a session (XEP-0050 §3.4), even one that
		// began and ended with this request.
		id = "done-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	var b stanza.Builder
	b.Reset(nil).Start("command").Attr("xmlns", NS).Attr("node", c.node).Attr("sessionid", id).Attr("status", status)
	b.Raw(payload)
	m.api.Result(ev, b.Bytes())
}

// fail answers with a stanza error carrying XEP-0050 §6's specific
// condition.
func (m *Module) fail(ev *core.Event, f *failure) {
	if f.specific == "" {
		m.api.Error(ev, f.typ, f.cond, f.text)
		return
	}
	var b stanza.Builder
	b.Reset(nil).Start("iq").Attr("type", "error")
	if id := ev.Stanza.ID(); id != nil {
		b.AttrBytes("id", id)
	}
	b.Attr("to", ev.From.String()).Attr("from", ev.To.String())
	b.Start("error").Attr("type", f.typ)
	b.Start(f.cond).Attr("xmlns", stanza.NSStanzas).End()
	b.Start(f.specific).Attr("xmlns", NS).End()
	if f.text != "" {
		b.Start("text").Attr("xmlns", stanza.NSStanzas).Text(f.text).End()
	}
	m.api.Reply(ev, b.Bytes())
}

// account parses a JID of an account of this host; a failure otherwise.
func (m *Module) account(s string) (jid.JID, *failure) {
	j, err := jid.Parse(strings.TrimSpace(s))
	if err != nil || j.Local() == "" {
		return jid.JID{}, &failure{core.ErrModify, "jid-malformed", "", "not an account's JID: " + s}
	}
	if j.Domain() != m.host.Name {
		return jid.JID{}, &failure{core.ErrCancel, "not-allowed", "", "not an account of " + m.host.Name + ": " + s}
	}
	return j, nil
}

// accountErr maps an accounts error to a failure.
func accountErr(err error, who string) *failure {
	switch {
	case errors.Is(err, core.ErrAccountExists):
		return &failure{core.ErrCancel, "conflict", "", who + " exists already"}
	case errors.Is(err, core.ErrNoAccount):
		return &failure{core.ErrCancel, "item-not-found", "", "no account " + who}
	case errors.Is(err, core.ErrAccountInvalid):
		return &failure{core.ErrModify, "jid-malformed", "", "not a valid account name: " + who}
	}
	return &failure{core.ErrWait, "internal-server-error", "", ""}
}

// addUser is XEP-0133 §4.1.
func (m *Module) addUser(ev *core.Event, f submitted) (outcome, *failure) {
	j, fl := m.account(f.first("accountjid"))
	if fl != nil {
		return outcome{}, fl
	}
	if f.first("password") != f.first("password-verify") {
		return outcome{}, &failure{core.ErrModify, "not-acceptable", "", "the passwords differ"}
	}
	if err := m.api.Server().Accounts.Create(m.host.Name, j.Local(), f.first("password")); err != nil {
		return outcome{}, accountErr(err, j.String())
	}
	return outcome{note: "Account " + j.String() + " created."}, nil
}

// jids reads a jid-multi field of accounts of this host, within maxJIDs.
func (m *Module) jids(vs []string) ([]jid.JID, *failure) {
	if len(vs) > maxJIDs {
		return nil, &failure{core.ErrModify, "not-acceptable", "", "at most " + strconv.Itoa(maxJIDs) + " JIDs at once"}
	}
	var out []jid.JID
	for _, v := range vs {
		if strings.TrimSpace(v) == "" {
			continue
		}
		j, fl := m.account(v)
		if fl != nil {
			return nil, fl
		}
		out = append(out, j)
	}
	return out, nil
}

// deleteUser is XEP-0133 §4.2: every account named is deleted with all
// its data, after all of them were found to exist.
func (m *Module) deleteUser(ev *core.Event, f submitted) (outcome, *failure) {
	list, fl := m.jids(f["accountjids"])
	if fl != nil {
		return outcome{}, fl
	}
	accounts := m.api.Server().Accounts
	for _, j := range list {
		if !accounts.Exists(m.host.Name, j.Local()) {
			return outcome{}, accountErr(core.ErrNoAccount, j.Bare().String())
		}
	}
	var done []string
	for _, j := range list {
		if err := accounts.Delete(m.host.Name, j.Local()); err != nil && !errors.Is(err, core.ErrNoAccount) {
			return outcome{}, accountErr(err, j.Bare().String())
		}
		done = append(done, j.Bare().String())
	}
	return outcome{note: "Deleted: " + strings.Join(done, ", ") + "."}, nil
}

// changePassword is XEP-0133 §4.7.
func (m *Module) changePassword(ev *core.Event, f submitted) (outcome, *failure) {
	j, fl := m.account(f.first("accountjid"))
	if fl != nil {
		return outcome{}, fl
	}
	if err := m.api.Server().Accounts.SetPassword(m.host.Name, j.Local(), f.first("password")); err != nil {
		return outcome{}, accountErr(err, j.Bare().String())
	}
	return outcome{note: "Password of " + j.Bare().String() + " changed."}, nil
}

// endSession is XEP-0133 §4.5: a full JID ends that session, a bare JID
// every session of the account.
func (m *Module) endSession(ev *core.Event, f submitted) (outcome, *failure) {
	list, fl := m.jids(f["accountjids"])
	if fl != nil {
		return outcome{}, fl
	}
	n := 0
	for _, j := range list {
		var gone []*core.Session
		m.host.Sessions(j.Local(), func(s *core.Session) {
			if j.IsBare() || s.JID.Equal(j) {
				gone = append(gone, s)
			}
		})
		for _, s := range gone {
			if s == ev.Origin {
				continue // the admin's own session stays to read the answer
			}
			s.Close("policy-violation", "session ended by an administrator")
			n++
		}
	}
	return outcome{note: strconv.Itoa(n) + " sessions ended."}, nil
}

// onlineUsers is XEP-0133 §4.19: the bare JIDs of the accounts with a
// session, sorted, up to max_items.
func (m *Module) onlineUsers(ev *core.Event, f submitted) (outcome, *failure) {
	limit := 0
	if v := f.first("max_items"); v != "" && v != "none" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return outcome{}, &failure{core.ErrModify, "bad-request", "bad-payload", "max_items is a number or none"}
		}
		limit = n
	}
	var users []string
	for _, s := range m.host.AllSessions() {
		users = append(users, s.JID.Bare().String())
	}
	slices.Sort(users)
	users = slices.Compact(users)
	if limit > 0 && len(users) > limit {
		users = users[:limit]
	}
	return outcome{result: []field{{Var: "onlineuserjids", Type: "jid-multi", Label: "The list of all online users", Values: users}}}, nil
}

// announce is XEP-0133 §4.23: a headline message from the server to every
// session of the host.
func (m *Module) announce(ev *core.Event, f submitted) (outcome, *failure) {
	body := strings.Join(f["announcement"], "\n")
	subject := f.first("subject")
	n := 0
	for _, s := range m.host.AllSessions() {
		var b stanza.Builder
		b.Reset(nil).Start("message").Attr("from", m.host.Name).Attr("to", s.JID.String()).Attr("type", "headline")
		if subject != "" {
			b.Start("subject").Text(subject).End()
		}
		b.Start("body").Text(body).End()
		s.SendFor(ev.Origin, b.Bytes())
		n++
	}
	return outcome{note: "Announcement sent to " + strconv.Itoa(n) + " sessions."}, nil
}
