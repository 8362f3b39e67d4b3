package bosh

import (
	"net/http"
	"slices"
)

// corsMaxAge is how long a browser may keep a preflight's answer, in
// seconds: BOSH pages post many requests, and each preflight is a round
// trip.
const corsMaxAge = "86400"

// cors lets pages of the allowed origins (cors_origins) post to the
// endpoint from a browser, and answers their preflight requests; it
// reports whether the request was answered. Without cors_origins only
// pages of the endpoint's own origin can use it, as browsers enforce.
func (m *Module) cors(w http.ResponseWriter, req *http.Request) bool {
	origin := req.Header.Get("Origin")
	allow := ""
	if origin != "" {
		list := m.opts.Load().origins
		switch {
		case slices.Contains(list, origin):
			allow = origin
		case slices.Contains(list, "*"):
			allow = "*"
		}
	}
	h := w.Header()
	if allow != "" {
		h.Set("Access-Control-Allow-Origin", allow)
		if allow != "*" {
			h.Add("Vary", "Origin")
		}
	}
	if req.Method != http.MethodOptions {
		return false
	}
	h.Set("Allow", "POST, OPTIONS")
	if origin != "" && allow == "" {
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return true
	}
	if allow != "" {
		h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Content-Type")
		h.Set("Access-Control-Max-Age", corsMaxAge)
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}
