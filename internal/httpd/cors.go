package httpd

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"xmppd/internal/config"
)

// CORS lets pages from other origins use a route (Fetch standard, CORS
// protocol): a module wraps its handler with it and reads its allowed
// origins from its own option, cors_origins by convention (ReadOrigins).
// A request from an origin not allowed is refused with 403, so a page
// elsewhere cannot make a browser act for its user even where reading the
// answer would be blocked; a request from the page's own origin (Origin
// naming the Host it is sent to) and one without Origin (not from a
// browser page) pass.
type CORS struct {
	Origins []string      // scheme://host[:port] as browsers send them; "*" allows any
	Methods []string      // allowed methods besides simple GET/HEAD/POST; nil: GET, POST
	Headers []string      // request headers pages may send; nil: Content-Type
	MaxAge  time.Duration // how long browsers may cache a preflight answer; 0: 10 minutes
}

// Wrap returns h answering CORS preflights and marking its responses for
// the allowed origins.
func (c *CORS) Wrap(h http.Handler) http.Handler {
	methods := strings.Join(orDefault(c.Methods, []string{"GET", "POST"}), ", ")
	headers := strings.Join(orDefault(c.Headers, []string{"Content-Type"}), ", ")
	maxAge := strconv.Itoa(int(max(c.MaxAge, 0).Seconds()))
	if c.MaxAge == 0 {
		maxAge = "600"
	}
	anyOrigin := slices.Contains(c.Origins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			h.ServeHTTP(w, r)
			return
		}
		hdr := w.Header()
		hdr.Add("Vary", "Origin")
		switch {
		case anyOrigin:
			hdr.Set("Access-Control-Allow-Origin", "*")
		case slices.ContainsFunc(c.Origins, func(o string) bool { return strings.EqualFold(o, origin) }) || sameOrigin(origin, r):
			hdr.Set("Access-Control-Allow-Origin", origin)
		default:
			http.Error(w, "origin "+origin+" is not allowed here (option cors_origins of the module)", http.StatusForbidden)
			return
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			hdr.Set("Access-Control-Allow-Methods", methods)
			hdr.Set("Access-Control-Allow-Headers", headers)
			hdr.Set("Access-Control-Max-Age", maxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// AnyOrigin is the CORS of public, read-only documents (host-meta, as
// XEP-0156 §3.2 asks): every origin may read them.
var AnyOrigin = &CORS{Origins: []string{"*"}, Methods: []string{"GET", "HEAD"}}

func orDefault(list, def []string) []string {
	if len(list) == 0 {
		return def
	}
	return list
}

// sameOrigin reports whether origin is the page's own: its host and port
// are those the request was sent to.
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// ReadOrigins reads list option name of a module's section as allowed
// origins (scheme://host[:port], or * for any), reporting each that is not
// one on r.
func ReadOrigins(r *config.Reader, name string) []string {
	var out []string
	for _, o := range r.List(name) {
		if o == "*" {
			out = append(out, o)
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			r.Errorf(name, "option %s: '%s' is not an origin: write scheme, host and port only, as in 'https://example.org' or 'http://192.168.1.1:8080', or * for any", name, o)
			continue
		}
		out = append(out, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return out
}
