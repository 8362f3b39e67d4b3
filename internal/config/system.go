package config

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// StoreDir returns the directory of the database, inside data_dir.
func (c *Config) StoreDir() string { return filepath.Join(c.DataDir, "data") }

// CertDir returns the directory of the self-signed certificate, inside data_dir.
func (c *Config) CertDir() string { return filepath.Join(c.DataDir, "certs") }

// AdminPID reports whether something answers on c's admin socket and, when
// the kernel says, the process that does (0 when it cannot be told). It
// connects and closes; it sends nothing.
func (c *Config) AdminPID() (pid int, answers bool) {
	conn, err := net.DialTimeout("unix", c.AdminSocket, time.Second)
	if err != nil {
		return 0, false
	}
	defer conn.Close()
	raw, err := conn.(*net.UnixConn).SyscallConn()
	if err != nil {
		return 0, true
	}
	raw.Control(func(fd uintptr) {
		if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
			pid = int(cred.Pid)
		}
	})
	return pid, true
}

// StorePID returns the process that holds the lock of c's store, or 0 when
// none does. It asks the kernel who holds the lock and takes none itself.
//
// It must not run in a process that has this store open: closing the file
// it asks through would drop that process's own lock, since POSIX record
// locks belong to the process and not to a file descriptor.
func (c *Config) StorePID() int {
	f, err := os.Open(filepath.Join(c.StoreDir(), "LOCK"))
	if err != nil {
		return 0
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	if unix.FcntlFlock(f.Fd(), unix.F_GETLK, &lk) != nil || lk.Type == unix.F_UNLCK {
		return 0
	}
	return int(lk.Pid)
}

// CheckSystem checks c against this machine as serve would meet it, and
// leaves nothing durable behind:
//
//   - the certificate and key of every enabled host are read and parsed;
//   - the directories the daemon writes in (data_dir, its store and
//     certificate folders, the admin socket's folder) get a temporary file,
//     made and removed at once; one that does not exist yet is tested in its
//     nearest existing parent, where serve would create it;
//   - every listener's address is bound and released at once.
//
// What a running xmppd holds while it runs with this configuration (its
// admin socket, its store's lock, its listening ports) stops serve as well,
// but is expected when check runs beside the daemon before a reload or a
// restart; those problems come in busy, apart from the others, so that a
// caller can tell "this would not start" from "this is running".
//
// Like StorePID, it must not run in a process that has c's store open.
func (c *Config) CheckSystem() (errs, busy ErrorList) {
	file := defaultName
	if c.Raw != nil {
		file = c.Raw.Name
	}
	add := func(list *ErrorList, line int, format string, args ...any) {
		*list = append(*list, &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
	}

	// Who runs with this configuration, if anyone: the process on the
	// admin socket, else the one holding the store.
	adminPID, answers := c.AdminPID()
	storePID := c.StorePID()
	daemon := adminPID
	if daemon == 0 {
		daemon = storePID
	}
	socketLine := c.optionLine("xmppd", 0, "admin_socket")
	if !c.hasOption("xmppd", 0, "admin_socket") {
		socketLine = c.optionLine("xmppd", 0, "data_dir")
	}
	dataLine := c.optionLine("xmppd", 0, "data_dir")
	if answers {
		add(&busy, socketLine, "admin socket %s is in use by %s", quote(c.AdminSocket), process(adminPID))
	}
	if storePID != 0 {
		add(&busy, dataLine, "data directory %s is in use by %s", quote(c.DataDir), process(storePID))
	}

	// Directories, each tested once even where several share a parent.
	selfSigned := false
	for _, h := range c.Hosts {
		selfSigned = selfSigned || h.Enabled && h.Cert == ""
	}
	type place struct {
		what, path string
		line       int
	}
	places := []place{{"data directory", c.DataDir, dataLine}, {"data directory", c.StoreDir(), dataLine}}
	if selfSigned {
		places = append(places, place{"data directory", c.CertDir(), dataLine})
	}
	if !answers {
		places = append(places, place{"admin socket folder", filepath.Dir(c.AdminSocket), socketLine})
	}
	tested := map[string]bool{}
	for _, p := range places {
		dir, err := existingDir(p.path)
		if err == nil {
			if tested[dir] {
				continue
			}
			tested[dir] = true
			err = writable(dir)
		}
		if err != nil {
			add(&errs, p.line, "%s %s: %v", p.what, quote(p.path), err)
		}
	}

	for _, h := range c.Hosts {
		if !h.Enabled || h.Cert == "" {
			continue
		}
		if err := loadCert(h.Cert, h.Key); err != nil {
			add(&errs, c.optionLine("host", h.Line, "cert"), "option cert: the certificate of %s does not load: %v", quote(h.Domain), err)
		}
	}

	seen := map[Listener]bool{}
	for _, l := range c.Listeners {
		key := l
		key.Line, key.Name = 0, ""
		if l.Type != "c2s" || seen[key] {
			continue
		}
		seen[key] = true
		addr := net.JoinHostPort(l.Address, strconv.Itoa(l.Port))
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			ln.Close()
			continue
		}
		where := "port " + strconv.Itoa(l.Port)
		if l.Address != "" {
			where += " on " + l.Address
		}
		line := c.optionLine("listener", l.Line, "port")
		switch {
		case errors.Is(err, syscall.EADDRINUSE):
			owner, known := portOwner(l.Port)
			switch {
			case daemon != 0 && owner == daemon:
				add(&busy, line, "listener: %s is in use by %s", where, process(owner))
			case daemon != 0 && !known:
				add(&busy, line, "listener: %s is in use, most likely by %s (the owner of the port cannot be read)", where, process(daemon))
			case owner != 0:
				add(&errs, line, "listener: %s is in use by %s: stop it, or choose another port", where, process(owner))
			default:
				add(&errs, line, "listener: %s is in use by another program: stop it, or choose another port", where)
			}
		case errors.Is(err, syscall.EADDRNOTAVAIL):
			add(&errs, c.optionLine("listener", l.Line, "address"), "listener: %s is not an address of this machine: use one of its addresses, or leave address out", quote(l.Address))
		case errors.Is(err, syscall.EACCES):
			add(&errs, line, "listener: %s needs root or CAP_NET_BIND_SERVICE, as does every port below 1024", where)
		default:
			add(&errs, line, "listener: cannot listen on %s: %v", where, err)
		}
	}
	return errs, busy
}

// optionLine returns the line of option name in the section of type typ at
// sectionLine (for "xmppd", the global section), or the section's line when
// the option is not written there, or 0.
func (c *Config) optionLine(typ string, sectionLine int, name string) int {
	s := c.section(typ, sectionLine)
	if o := s.Option(name); o != nil {
		return o.Line
	}
	if s != nil {
		return s.Line
	}
	return sectionLine
}

func (c *Config) hasOption(typ string, sectionLine int, name string) bool {
	return c.section(typ, sectionLine).Option(name) != nil
}

func (c *Config) section(typ string, line int) *Section {
	if c.Raw == nil {
		return nil
	}
	for _, s := range c.Raw.SectionsOf(typ) {
		if typ == "xmppd" || s.Line == line {
			return s
		}
	}
	return nil
}

// process names a process in a message: its command name and pid.
func process(pid int) string {
	if pid == 0 {
		return "a running xmppd"
	}
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	name := strings.TrimSpace(string(comm))
	if err != nil || name == "" {
		name = "process"
	}
	return name + " (pid " + strconv.Itoa(pid) + ")"
}

// existingDir returns path when it is a directory, else its nearest
// existing parent, where MkdirAll would start creating.
func existingDir(path string) (string, error) {
	p := filepath.Clean(path)
	for {
		fi, err := os.Stat(p)
		switch {
		case err == nil && fi.IsDir():
			return p, nil
		case err == nil:
			return "", fmt.Errorf("%s is not a directory", p)
		case !errors.Is(err, fs.ErrNotExist):
			return "", err
		}
		parent := filepath.Dir(p)
		if parent == p {
			return "", err
		}
		p = parent
	}
}

// writable tests that files can be made in dir by making one and removing
// it: permissions alone do not tell (a read-only mount, root).
func writable(dir string) error {
	f, err := os.CreateTemp(dir, ".xmppd-check-*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("cannot create files in %s: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// loadCert reads a certificate chain and its key as the server does.
func loadCert(cert, key string) error {
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return err
	}
	_, err = x509.ParseCertificate(pair.Certificate[0])
	return err
}

// portOwner returns the process with a listening TCP socket on port, from
// Linux's /proc; known is false when some process's sockets could not be
// read (another user's, without root).
func portOwner(port int) (pid int, known bool) {
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local_address rem_address st ... inode
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" { // 0A: LISTEN
				continue
			}
			i := strings.LastIndexByte(fields[1], ':')
			if p, err := strconv.ParseUint(fields[1][i+1:], 16, 16); err == nil && int(p) == port {
				inodes["socket:["+fields[9]+"]"] = true
			}
		}
		f.Close()
	}
	if len(inodes) == 0 {
		return 0, false
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	known = true
	for _, p := range procs {
		n, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		fds, err := os.ReadDir("/proc/" + p.Name() + "/fd")
		if err != nil {
			// A process that ended meanwhile had nothing to hide.
			known = known && errors.Is(err, fs.ErrNotExist)
			continue
		}
		for _, fd := range fds {
			if link, err := os.Readlink("/proc/" + p.Name() + "/fd/" + fd.Name()); err == nil && inodes[link] {
				return n, true
			}
		}
	}
	return 0, known
}
