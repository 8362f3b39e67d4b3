package httpd

import (
	"bufio"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"
)

// wrap puts the request size limit and the access log around the handler.
func (s *Server) wrap(opts Options) http.Handler {
	limit := opts.MaxBodyBytes
	serve := func(w http.ResponseWriter, r *http.Request) {
		if limit > 0 {
			if r.ContentLength > limit {
				// Refused before the handler reads a byte of it.
				w.Header().Set("Connection", "close")
				http.Error(w, "request body too large: at most "+strconv.FormatInt(limit, 10)+" bytes", http.StatusRequestEntityTooLarge)
				return
			}
			// A body without a length (chunked) is cut off at the limit:
			// the handler's read fails with *http.MaxBytesError, for which
			// it answers 413.
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		s.handler.ServeHTTP(w, r)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.log.Enabled(r.Context(), slog.LevelDebug) {
			serve(w, r)
			return
		}
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		serve(rec, r)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		s.log.Debug("request", "method", r.Method, "http_host", r.Host, "path", r.URL.Path, "status", status,
			"bytes", rec.n, "duration", time.Since(start).Round(time.Microsecond), "remote", r.RemoteAddr)
	})
}

// recorder notes a response's status and size for the access log. It
// passes Flush and Hijack on, and Unwrap gives http.ResponseController
// the writer underneath, so handlers can set their own deadlines.
type recorder struct {
	http.ResponseWriter
	status int
	n      int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 || r.status < 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.n += int64(n)
	return n, err
}

// Flush implements http.Flusher.
func (r *recorder) Flush() { http.NewResponseController(r.ResponseWriter).Flush() }

// Hijack implements http.Hijacker, for WebSocket upgrades.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(r.ResponseWriter).Hijack()
}

// Unwrap returns the writer underneath, for http.ResponseController.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// LongLived lifts the server's read and write timeouts for a request whose
// handler waits before it answers or keeps the connection (a BOSH long
// poll, a WebSocket upgrade): the connection may then take d from now, or
// any time when d is 0. Without it the write timeout (http option
// write_timeout) cuts the response off. Call it before hijacking: a
// hijacked connection keeps the deadlines it had.
func LongLived(w http.ResponseWriter, d time.Duration) error {
	rc := http.NewResponseController(w)
	var t time.Time
	if d > 0 {
		t = time.Now().Add(d)
	}
	if err := rc.SetWriteDeadline(t); err != nil {
		return err
	}
	return rc.SetReadDeadline(t)
}

var (
	_ http.Flusher  = (*recorder)(nil)
	_ http.Hijacker = (*recorder)(nil)
)
