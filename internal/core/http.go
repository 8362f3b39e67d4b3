package core

import (
	"net/http"
	"slices"
	"strings"
	"sync"
)

// Routes is the server's table of HTTP routes. Modules add theirs under
// /<module>/ through API.HandleHTTP; the HTTP listener (a module of its own)
// serves the table, and unloading a module takes its routes away.
type Routes struct {
	mu     sync.RWMutex
	routes map[string]http.Handler // path prefix → handler
}

// ServeHTTP dispatches to the route with the longest matching prefix.
func (r *Routes) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.RLock()
	var best string
	var h http.Handler
	for p, hh := range r.routes {
		if (req.URL.Path == strings.TrimSuffix(p, "/") || strings.HasPrefix(req.URL.Path, p)) && len(p) > len(best) {
			best, h = p, hh
		}
	}
	r.mu.RUnlock()
	if h == nil {
		http.NotFound(w, req)
		return
	}
	h.ServeHTTP(w, req)
}

// Paths lists the registered prefixes, sorted.
func (r *Routes) Paths() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []string
	for p := range r.routes {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

func (r *Routes) add(prefix string, h http.Handler) func() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.routes == nil {
		r.routes = map[string]http.Handler{}
	}
	r.routes[prefix] = h
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.routes, prefix)
	}
}

// HandleHTTP serves h at /<module>/<path> (path may be empty); the route
// goes away when the module unloads.
func (a *API) HandleHTTP(path string, h http.Handler) {
	prefix := "/" + a.info.Name + "/" + strings.Trim(path, "/")
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	a.OnUnload(a.srv.HTTP.add(prefix, h))
}
