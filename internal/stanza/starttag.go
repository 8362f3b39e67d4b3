package stanza

// TagNameEnd returns where the element name of the start tag at p's start
// ends, 0 when p does not start with one. Transports that frame stanzas
// themselves (BOSH bodies, WebSocket messages) use it to add namespace
// declarations a stream header would otherwise have given.
func TagNameEnd(p []byte) int {
	if len(p) < 2 || p[0] != '<' {
		return 0
	}
	for i := 1; i < len(p); i++ {
		switch p[i] {
		case ' ', '\t', '\r', '\n', '/', '>':
			return i
		}
	}
	return 0
}

// TagHasAttr reports whether the attributes of a start tag include name;
// p starts right after the tag's name (at TagNameEnd). Quoted values may
// hold any byte, '>' included.
func TagHasAttr(p []byte, name string) bool {
	i := 0
	for i < len(p) {
		for i < len(p) && isSpace(p[i]) {
			i++
		}
		if i >= len(p) || p[i] == '>' || p[i] == '/' {
			return false
		}
		start := i
		for i < len(p) && p[i] != '=' && !isSpace(p[i]) && p[i] != '>' {
			i++
		}
		if string(p[start:i]) == name {
			return true
		}
		for i < len(p) && p[i] != '\'' && p[i] != '"' && p[i] != '>' {
			i++
		}
		if i >= len(p) || p[i] == '>' {
			return false
		}
		q := p[i]
		i++
		for i < len(p) && p[i] != q {
			i++
		}
		i++
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
