package http

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"

	"xmppd/internal/core"
	"xmppd/internal/xml"
)

// XEP-0156 §3: host-meta lists a host's connection endpoints, as XRD
// (RFC 6415) at /.well-known/host-meta and as JRD at host-meta.json.
const nsXRD = "http://docs.oasis-open.org/ns/xri/xrd-1.0"

// relWebSocket is the relation of WebSocket endpoints (XEP-0156 §3),
// whose URLs take the ws and wss schemes.
const relWebSocket = "urn:xmpp:alt-connections:websocket"

// href is the absolute URL of an endpoint: base with the path, and for a
// WebSocket endpoint the scheme that a browser's WebSocket constructor
// takes (RFC 6455 §3).
func href(base string, l core.HTTPLink) string {
	u := base + l.Path
	if l.Rel == relWebSocket {
		if rest, ok := strings.CutPrefix(u, "https://"); ok {
			return "wss://" + rest
		}
		if rest, ok := strings.CutPrefix(u, "http://"); ok {
			return "ws://" + rest
		}
	}
	return u
}

// jrdLink is one link of host-meta.json.
type jrdLink struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

// hostMeta answers host-meta for the request's host, in JSON or XML, with
// the advertised endpoints as absolute URLs: the public_url option's base
// when a proxy sits in front, else the scheme, host and port the request
// came in on, which are the ones that reached us.
func (m *Module) hostMeta(asJSON bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/host-meta" && r.URL.Path != "/.well-known/host-meta.json" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD, OPTIONS")
			http.Error(w, "host-meta is read with GET", http.StatusMethodNotAllowed)
			return
		}
		base := m.baseURL(r)
		links := m.api.Server().HTTP.Links(core.RequestHost(r))
		var body []byte
		if asJSON {
			out := struct {
				Links []jrdLink `json:"links"`
			}{Links: []jrdLink{}}
			for _, l := range links {
				out.Links = append(out.Links, jrdLink{l.Rel, href(base, l)})
			}
			body, _ = json.Marshal(out)
			body = append(body, '\n')
			w.Header().Set("Content-Type", "application/json")
		} else {
			body = append(body, "<?xml version='1.0' encoding='utf-8'?>\n<XRD xmlns='"+nsXRD+"'>\n"...)
			for _, l := range links {
				body = append(body, "  <Link rel='"...)
				body = xml.AppendEscapedAttr(body, l.Rel)
				body = append(body, "' href='"...)
				body = xml.AppendEscapedAttr(body, href(base, l))
				body = append(body, "'/>\n"...)
			}
			body = append(body, "</XRD>\n"...)
			w.Header().Set("Content-Type", "application/xrd+xml; charset=utf-8")
		}
		w.Write(body)
	})
}

// baseURL is what endpoint paths are appended to.
func (m *Module) baseURL(r *http.Request) string {
	if p := *m.public.Load(); p != "" {
		return p
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if host == "" {
		// HTTP/1.0 without Host: the address the client reached.
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			host = a.String()
		}
	}
	return scheme + "://" + host
}
