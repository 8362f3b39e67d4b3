// Package web holds the admin UI's static files, embedded into the binary:
// plain HTML, CSS and JavaScript with no build step, which the webadmin
// module serves as one page.
package web

import "embed"

// Files are the page (index.html) and the style sheets and scripts it
// names, which the server inlines into it.
//
//go:embed index.html *.css *.js
var Files embed.FS
