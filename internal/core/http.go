package core

import (
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// Routes is the server's table of HTTP routes. Modules add theirs under
// /<module>/ through API.HandleHTTP; the HTTP listener (a module of its own)
// serves the table, and unloading a module takes its routes away.
//
// Routes are per host: a host module's route answers requests for its
// host only (the Host header, else the TLS server name, chooses), so two
// hosts running the same module each have their own, and a global
// module's route answers for every host.
type Routes struct {
	mu     sync.RWMutex
	routes map[routeKey][]*route // newest last
	links  []*hostLink
}

// HTTPLink is an endpoint clients discover through XEP-0156 host-meta: a
// relation (urn:xmpp:alt-connections:websocket, ...:xbosh) and the absolute
// path it is served at; the host-meta answer makes it a URL with the
// scheme, host and port the request came in on.
type HTTPLink struct{ Rel, Path string }

// hostLink is an HTTPLink of a host ("" for every host).
type hostLink struct {
	host string
	HTTPLink
}

// routeKey is where a route answers: a host ("" for all) and a path prefix.
type routeKey struct{ host, prefix string }

// route is one module instance's handler: while a reload runs a module's
// new instance beside the old one, both hold the key, and unloading the old
// leaves the new.
type route struct{ h http.Handler }

// ServeHTTP dispatches to the route with the longest prefix matching the
// path, among the routes of the request's host and the global ones; at
// equal length the host's own route wins.
func (r *Routes) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	host := RequestHost(req)
	r.mu.RLock()
	var best routeKey
	var h http.Handler
	for k, list := range r.routes {
		if k.host != "" && k.host != host {
			continue
		}
		if req.URL.Path != strings.TrimSuffix(k.prefix, "/") && !strings.HasPrefix(req.URL.Path, k.prefix) {
			continue
		}
		if h == nil || len(k.prefix) > len(best.prefix) || (len(k.prefix) == len(best.prefix) && k.host != "") {
			best, h = k, list[len(list)-1].h
		}
	}
	r.mu.RUnlock()
	if h == nil {
		http.NotFound(w, req)
		return
	}
	h.ServeHTTP(w, req)
}

// RequestHost returns the host a request is for, as host names are kept:
// lower case, without port or final dot; the Host header chooses, else the
// TLS server name.
func RequestHost(req *http.Request) string {
	host := req.Host
	if host == "" && req.TLS != nil {
		host = req.TLS.ServerName
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// Paths lists the registered routes, sorted: a global route as its prefix
// ("/admin/"), a host's as the host and its prefix ("example.org/uptime/").
func (r *Routes) Paths() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []string
	for k := range r.routes {
		out = append(out, k.host+k.prefix)
	}
	slices.Sort(out)
	return out
}

func (r *Routes) add(host, prefix string, h http.Handler) func() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.routes == nil {
		r.routes = map[routeKey][]*route{}
	}
	k := routeKey{host, prefix}
	rt := &route{h}
	r.routes[k] = append(r.routes[k], rt)
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		list := slices.DeleteFunc(r.routes[k], func(x *route) bool { return x == rt })
		if len(list) == 0 {
			delete(r.routes, k)
		} else {
			r.routes[k] = list
		}
	}
}

// HandleHTTP serves h at /<module>/<path> (path may be empty) for the
// module's host, or for every host from a global module; the route goes
// away when the module unloads.
func (a *API) HandleHTTP(path string, h http.Handler) {
	a.HandleHTTPAt("/"+a.info.Name+"/"+strings.Trim(path, "/"), h)
}

// HandleHTTPAt serves h at an absolute path and below it, for endpoints
// whose path clients know without asking (/http-bind, /xmpp-websocket,
// /.well-known/host-meta); the route goes away when the module unloads.
func (a *API) HandleHTTPAt(path string, h http.Handler) {
	prefix := "/" + strings.Trim(path, "/")
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	a.OnUnload(a.srv.HTTP.add(a.hostName(), prefix, h))
}

// Links lists the endpoints advertised for host, global ones included, in
// the order modules advertised them.
func (r *Routes) Links(host string) []HTTPLink {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []HTTPLink
	for _, l := range r.links {
		if (l.host == "" || l.host == host) && !slices.Contains(out, l.HTTPLink) {
			out = append(out, l.HTTPLink)
		}
	}
	return out
}

// AdvertiseHTTP publishes an endpoint of the module in host-meta, for the
// module's host or for every host from a global module, until the module
// unloads.
func (a *API) AdvertiseHTTP(rel, path string) {
	r := a.srv.HTTP
	l := &hostLink{a.hostName(), HTTPLink{rel, path}}
	r.mu.Lock()
	r.links = append(r.links, l)
	r.mu.Unlock()
	a.OnUnload(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.links = slices.DeleteFunc(r.links, func(x *hostLink) bool { return x == l })
	})
}
