package webadmin

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"xmppd/web"
)

// builtPage is index.html with its style sheets and scripts inlined: one
// request, kept gzipped, with a Content-Security-Policy that allows
// exactly the inlined code (by hash) and nothing from elsewhere.
type builtPage struct {
	html, gz []byte
	csp      string
	modified time.Time
}

// page builds the embedded page once.
type page struct {
	once sync.Once
	p    *builtPage
	err  error
}

func (pg *page) get() (*builtPage, error) {
	pg.once.Do(func() {
		// The binary's time stands for its files' (embed keeps none).
		mod := time.Now()
		if exe, err := os.Executable(); err == nil {
			if fi, err := os.Stat(exe); err == nil {
				mod = fi.ModTime()
			}
		}
		pg.p, pg.err = buildPage(web.Files, mod)
	})
	return pg.p, pg.err
}

// buildPage inlines every <link rel="stylesheet" href="F"> and
// <script src="F"></script> of index.html.
func buildPage(files fs.FS, modified time.Time) (*builtPage, error) {
	src, err := fs.ReadFile(files, "index.html")
	if err != nil {
		return nil, err
	}
	var scripts, styles []string
	inline := func(html, open, close, tag string, hashes *[]string) (string, error) {
		var out strings.Builder
		for {
			i := strings.Index(html, open)
			if i < 0 {
				out.WriteString(html)
				return out.String(), nil
			}
			j := strings.Index(html[i+len(open):], close)
			if j < 0 {
				out.WriteString(html)
				return out.String(), nil
			}
			name := html[i+len(open) : i+len(open)+j]
			body, err := fs.ReadFile(files, name)
			if err != nil {
				return "", err
			}
			sum := sha256.Sum256(body)
			*hashes = append(*hashes, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
			out.WriteString(html[:i])
			out.WriteString("<" + tag + ">")
			out.Write(body)
			out.WriteString("</" + tag + ">")
			html = html[i+len(open)+j+len(close):]
		}
	}
	html, err := inline(string(src), `<link rel="stylesheet" href="`, `">`, "style", &styles)
	if err != nil {
		return nil, err
	}
	if html, err = inline(html, `<script src="`, `"></script>`, "script", &scripts); err != nil {
		return nil, err
	}
	p := &builtPage{html: []byte(html), modified: modified.UTC().Truncate(time.Second)}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(p.html)
	zw.Close()
	p.gz = gz.Bytes()
	// connect-src 'self' covers the Monitor's WebSocket to this host too
	// (CSP 3); ws: and wss: would let an injected script reach any host.
	p.csp = "default-src 'none'; script-src " + strings.Join(scripts, " ") +
		"; style-src " + strings.Join(styles, " ") +
		"; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
	return p, nil
}

func (p *builtPage) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", p.csp)
	h.Set("Cache-Control", "no-cache")
	h.Set("Last-Modified", p.modified.Format(http.TimeFormat))
	h.Set("Vary", "Accept-Encoding")
	if t, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !p.modified.After(t) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := p.html
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		body = p.gz
	}
	w.Write(body)
}
