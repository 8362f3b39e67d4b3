package webadmin

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"

	"xmppd/internal/config"
	"xmppd/internal/core"
)

// The configuration follows LuCI's flow: changes are staged (nothing is
// written), then applied (validated, written atomically with the UCI
// writer, reloaded without dropping sessions) with a rollback timer that
// a confirm from the browser stops; if the browser cannot reach the server
// again to confirm, the old file comes back by itself. The JSON shape of a
// file is uci.js's: a map of section name to values with .name, .type,
// .anonymous and .index.

// pendingApply is an apply waiting for its confirm.
type pendingApply struct {
	old      []byte // the file before the apply
	deadline time.Time
	timer    *time.Timer
}

// ucirow is one section in uci.js's shape: its options (strings, lists as
// arrays) and the dotted keys.
type ucirow map[string]any

// sectionID names a section for the page: its name, or for an anonymous
// one its type and index as uci.js's @type[i] syntax does.
func sectionID(f *config.File, s *config.Section) string {
	if s.Name != "" {
		return s.Name
	}
	i := slices.Index(f.SectionsOf(s.Type), s)
	return "@" + s.Type + "[" + strconv.Itoa(i) + "]"
}

func findSection(f *config.File, id string) *config.Section {
	for _, s := range f.Sections {
		if sectionID(f, s) == id {
			return s
		}
	}
	return nil
}

func uciValues(f *config.File) map[string]ucirow {
	out := map[string]ucirow{}
	for i, s := range f.Sections {
		row := ucirow{".name": sectionID(f, s), ".type": s.Type, ".anonymous": s.Name == "", ".index": i}
		for _, o := range s.Options {
			if o.List || len(o.Values) > 1 {
				row[o.Name] = slices.Clone(o.Values)
			} else if len(o.Values) == 1 {
				row[o.Name] = o.Values[0]
			}
		}
		out[sectionID(f, s)] = row
	}
	return out
}

// configPath returns the file the server runs on, or an error saying why
// the page cannot change it.
func (m *Module) configPath() (string, error) {
	if m.srv.Config.File == "" {
		return "", errors.New("xmppd runs on its built-in default configuration: start it with a configuration file (xmppd serve -c FILE, or /etc/config/xmppd) to change settings here")
	}
	return m.srv.Config.File, nil
}

// current returns the staged file, else the file on disk. The caller
// holds cfgMu.
func (m *Module) current() (*config.File, error) {
	if m.staged != nil {
		return m.staged, nil
	}
	path, err := m.configPath()
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return config.Parse(path, data)
}

// validate maps f and runs the module checks: what the reload would refuse.
func validate(f *config.File) []string {
	cfg, err := config.FromFile(f)
	if err == nil {
		err = core.CheckModules(cfg)
	}
	if err == nil {
		return nil
	}
	var list config.ErrorList
	if errors.As(err, &list) {
		var out []string
		for _, e := range list {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}

// configReply is GET /admin/api/config.
type configReply struct {
	File    string            `json:"file"`
	Values  map[string]ucirow `json:"values"`
	Order   []string          `json:"order"`
	Changes int               `json:"changes"`          // staged, not applied
	Errors  []string          `json:"errors,omitempty"` // of the staged file
	Pending *pendingInfo      `json:"pending,omitempty"`
}

type pendingInfo struct {
	SecondsLeft int `json:"seconds_left"`
}

func (m *Module) configReply() (configReply, error) {
	f, err := m.current()
	if err != nil {
		return configReply{}, err
	}
	resp := configReply{File: f.Name, Values: uciValues(f), Changes: m.changes}
	for _, s := range f.Sections {
		resp.Order = append(resp.Order, sectionID(f, s))
	}
	if m.staged != nil {
		resp.Errors = validate(m.staged)
	}
	if p := m.pending; p != nil {
		resp.Pending = &pendingInfo{SecondsLeft: max(0, int(time.Until(p.deadline).Seconds()+0.5))}
	}
	return resp, nil
}

func (m *Module) configGet(w http.ResponseWriter, r *http.Request, l *login) {
	m.cfgMu.Lock()
	defer m.cfgMu.Unlock()
	resp, err := m.configReply()
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	reply(w, resp)
}

// change is one staged edit, as uci.js sends them: set values of a
// section (a value "" or null deletes the option; an array is a list),
// delete options of a section or the whole section, or add a section.
type change struct {
	Op      string         `json:"op"` // set, delete, add
	Section string         `json:"section,omitempty"`
	Type    string         `json:"type,omitempty"` // add
	Name    string         `json:"name,omitempty"` // add; "" for anonymous
	Values  map[string]any `json:"values,omitempty"`
	Options []string       `json:"options,omitempty"` // delete; none: the section
}

// validName is UCI's rule for type, section and option names.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// applyChange makes c on f, or says what is wrong with it.
func applyChange(f *config.File, c change) error {
	switch c.Op {
	case "add":
		if !validName(c.Type) {
			return fmt.Errorf("add: type %q is not a UCI name (letters, digits, _)", c.Type)
		}
		if c.Name != "" && !validName(c.Name) {
			return fmt.Errorf("add: name %q is not a UCI name (letters, digits, _)", c.Name)
		}
		if c.Name != "" && f.Section("", c.Name) != nil {
			return fmt.Errorf("add: a section %q exists already", c.Name)
		}
		s := &config.Section{Type: c.Type, Name: c.Name}
		f.Sections = append(f.Sections, s)
		return setValues(s, c.Values)
	case "set", "delete":
		s := findSection(f, c.Section)
		if s == nil {
			return fmt.Errorf("%s: no section %q", c.Op, c.Section)
		}
		if c.Op == "set" {
			return setValues(s, c.Values)
		}
		if len(c.Options) == 0 {
			f.Sections = slices.DeleteFunc(f.Sections, func(x *config.Section) bool { return x == s })
			return nil
		}
		for _, name := range c.Options {
			s.Options = slices.DeleteFunc(s.Options, func(o *config.Option) bool { return o.Name == name })
		}
		return nil
	}
	return fmt.Errorf("op %q: use set, delete or add", c.Op)
}

func setValues(s *config.Section, values map[string]any) error {
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, name := range names {
		if !validName(name) || name[0] == '.' {
			return fmt.Errorf("option name %q is not a UCI name (letters, digits, _)", name)
		}
		var o *config.Option
		switch v := values[name].(type) {
		case nil:
		case string:
			if v != "" {
				o = &config.Option{Name: name, Values: []string{v}}
			}
		case []any:
			items := make([]string, 0, len(v))
			for _, it := range v {
				str, ok := it.(string)
				if !ok {
					return fmt.Errorf("list %s: items must be strings", name)
				}
				items = append(items, str)
			}
			if len(items) > 0 {
				o = &config.Option{Name: name, Values: items, List: true}
			}
		default:
			return fmt.Errorf("option %s: a value is a string, a list of strings, or null to delete it", name)
		}
		i := slices.IndexFunc(s.Options, func(x *config.Option) bool { return x.Name == name })
		switch {
		case o == nil && i >= 0:
			s.Options = slices.Delete(s.Options, i, i+1)
		case o != nil && i >= 0:
			s.Options[i] = o
		case o != nil:
			s.Options = append(s.Options, o)
		}
	}
	return nil
}

// cloneFile copies f deeply, so staging never touches the running file.
func cloneFile(f *config.File) *config.File {
	c := &config.File{Name: f.Name}
	for _, s := range f.Sections {
		cs := *s
		cs.Options = make([]*config.Option, len(s.Options))
		for i, o := range s.Options {
			co := *o
			co.Values = slices.Clone(o.Values)
			cs.Options[i] = &co
		}
		c.Sections = append(c.Sections, &cs)
	}
	return c
}

func (m *Module) configStage(w http.ResponseWriter, r *http.Request, l *login) {
	var req struct {
		Changes []change `json:"changes"`
	}
	if !decode(w, r, &req) {
		return
	}
	if len(req.Changes) == 0 {
		fail(w, http.StatusBadRequest, "changes: nothing to stage")
		return
	}
	m.cfgMu.Lock()
	defer m.cfgMu.Unlock()
	cur, err := m.current()
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	next := cloneFile(cur)
	for i, c := range req.Changes {
		if err := applyChange(next, c); err != nil {
			fail(w, http.StatusBadRequest, "change "+strconv.Itoa(i+1)+": "+err.Error())
			return
		}
	}
	m.staged = next
	m.changes += len(req.Changes)
	resp, _ := m.configReply()
	reply(w, resp)
}

func (m *Module) configRevert(w http.ResponseWriter, r *http.Request, l *login) {
	m.cfgMu.Lock()
	defer m.cfgMu.Unlock()
	m.staged, m.changes = nil, 0
	resp, err := m.configReply()
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	reply(w, resp)
}

// applyReply answers an apply.
type applyReply struct {
	Restart     []string `json:"restart,omitempty"`  // what waits for a restart
	Warnings    []string `json:"warnings,omitempty"` // parts a module could not apply
	RollbackIn  int      `json:"rollback_in"`        // seconds; 0: no rollback timer
	Unconfirmed bool     `json:"unconfirmed"`
}

func (m *Module) configApply(w http.ResponseWriter, r *http.Request, l *login) {
	var req struct {
		Rollback *int `json:"rollback"` // seconds; 0 applies without a timer
	}
	if !decode(w, r, &req) {
		return
	}
	rollback := m.opts.Load().rollback
	if req.Rollback != nil {
		if *req.Rollback < 0 || *req.Rollback > 3600 {
			fail(w, http.StatusBadRequest, "rollback: use 0 (no timer) to 3600 seconds")
			return
		}
		rollback = time.Duration(*req.Rollback) * time.Second
	}
	m.cfgMu.Lock()
	defer m.cfgMu.Unlock()
	path, err := m.configPath()
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if m.pending != nil {
		fail(w, http.StatusConflict, "the last apply waits for its confirm: confirm or roll it back first")
		return
	}
	if m.staged == nil {
		fail(w, http.StatusBadRequest, "no staged changes to apply")
		return
	}
	if errs := validate(m.staged); len(errs) > 0 {
		send(w, http.StatusBadRequest, apiError{Error: "the staged configuration has errors; nothing was written", Errors: errs})
		return
	}
	old, err := os.ReadFile(path)
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	restart, warnings, err := m.write(path, m.staged.Bytes())
	if err != nil {
		send(w, http.StatusBadRequest, apiError{Error: "the new configuration did not load; the old one was put back and runs on", Errors: warnings})
		return
	}
	m.staged, m.changes = nil, 0
	m.api.Log().Info("admin UI: configuration applied", "by", l.jid, "rollback", rollback)
	resp := applyReply{Restart: restart, Warnings: warnings, RollbackIn: int(rollback / time.Second)}
	if rollback > 0 {
		p := &pendingApply{old: old, deadline: time.Now().Add(rollback)}
		p.timer = time.AfterFunc(rollback, func() { m.rollbackPending(p) })
		m.pending = p
		resp.Unconfirmed = true
	}
	reply(w, resp)
}

// write writes data to path atomically and reloads the server with it.
// When the reload refuses it, the old file goes back and err is set; the
// strings are then the reasons, else the parts a module could not apply.
// The caller holds cfgMu.
func (m *Module) write(path string, data []byte) (restart, msgs []string, err error) {
	old, err := os.ReadFile(path)
	if err != nil {
		return nil, []string{err.Error()}, err
	}
	perm := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		perm = fi.Mode().Perm()
	}
	if err := config.WriteFileAtomic(path, data, perm); err != nil {
		return nil, []string{err.Error()}, err
	}
	cfg, err := config.Load(path)
	if err == nil {
		restart, err = m.srv.Reload(cfg)
	}
	if err == nil {
		return restart, nil, nil
	}
	for _, e := range unwrapAll(err) {
		if !errors.Is(e, core.ErrNotApplied) {
			msgs = append(msgs, e.Error())
		}
	}
	var list config.ErrorList
	if errors.Is(err, core.ErrNotApplied) || errors.As(err, &list) {
		config.WriteFileAtomic(path, old, perm)
		return nil, msgs, err
	}
	return restart, msgs, nil
}

func unwrapAll(err error) []error {
	var out []error
	var walk func(error)
	walk = func(e error) {
		if u, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range u.Unwrap() {
				walk(x)
			}
			return
		}
		out = append(out, e)
	}
	walk(err)
	return out
}

func (m *Module) configConfirm(w http.ResponseWriter, r *http.Request, l *login) {
	m.cfgMu.Lock()
	defer m.cfgMu.Unlock()
	if m.pending == nil {
		fail(w, http.StatusConflict, "no apply waits for a confirm")
		return
	}
	m.pending.timer.Stop()
	m.pending = nil
	m.api.Log().Info("admin UI: configuration confirmed", "by", l.jid)
	reply(w, struct{}{})
}

func (m *Module) configRollback(w http.ResponseWriter, r *http.Request, l *login) {
	m.cfgMu.Lock()
	p := m.pending
	m.cfgMu.Unlock()
	if p == nil {
		fail(w, http.StatusConflict, "no apply waits for a confirm, so there is nothing to roll back")
		return
	}
	p.timer.Stop()
	if err := m.rollbackPending(p); err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	reply(w, struct{}{})
}

// rollbackPending puts back the file from before apply p and reloads it,
// unless p was confirmed or rolled back meanwhile.
func (m *Module) rollbackPending(p *pendingApply) error {
	m.cfgMu.Lock()
	defer m.cfgMu.Unlock()
	if m.pending != p {
		return nil
	}
	m.pending = nil
	path, err := m.configPath()
	if err != nil {
		return err
	}
	_, msgs, err := m.write(path, p.old)
	if err != nil {
		m.api.Log().Error("admin UI: rollback did not load", "errs", msgs)
		return fmt.Errorf("rollback did not load: %v", msgs)
	}
	m.api.Log().Warn("admin UI: configuration rolled back: the apply was not confirmed in time")
	return nil
}

// cancelPending stops the rollback timer when the module unloads. An
// apply that disables this module unloads it while holding cfgMu; its
// timer is left to run, so that the change is rolled back unless someone
// confirms it, which no one can from the page that is gone.
func (m *Module) cancelPending() {
	if !m.cfgMu.TryLock() {
		return
	}
	defer m.cfgMu.Unlock()
	if m.pending != nil {
		m.pending.timer.Stop()
		m.pending = nil
	}
}
