package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	osuser "os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"xmppd/internal/config"
)

// creds is the account xmppd switches to after binding its ports as root.
type creds struct {
	name   string
	uid    int
	gid    int
	groups []int // supplementary groups, as initgroups(3) would set them
}

// errRoot is why xmppd does not start as root with neither user nor
// allow_root set.
var errRoot = errors.New("started as root, and xmppd does not keep root: set option user 'xmppd' (an account of its own; option group too if its group differs) in config xmppd 'main', so that xmppd drops root once its ports are bound, or option allow_root '1' to run as root anyway")

// planPrivileges returns the account to switch to, or nil when there is
// nothing to switch: not started as root (procd, systemd's User= and
// start-stop-daemon --chuid switch before xmppd runs), root allowed, or
// the built-in default in use.
func planPrivileges(cfg *config.Config, euid int) (*creds, error) {
	if euid != 0 {
		return nil, nil
	}
	if cfg.User == "" {
		if cfg.AllowRoot {
			return nil, nil
		}
		if cfg.File == "" {
			// The built-in default is for trying xmppd out (make run, data
			// under ./var): it runs as whoever starts it, root included,
			// and serve says so. An installed daemon has a file.
			return nil, nil
		}
		return nil, errRoot
	}
	c, err := lookupCreds(cfg.User, cfg.Group)
	if err != nil {
		return nil, err
	}
	if c.uid == 0 {
		return nil, fmt.Errorf("option user %q is root, which keeps root: name an account of its own, or leave user out and set allow_root '1'", cfg.User)
	}
	return c, nil
}

// lookupCreds resolves an account and group name, or numbers.
func lookupCreds(name, group string) (*creds, error) {
	c := &creds{name: name}
	u, err := osuser.Lookup(name)
	if err != nil {
		n, nerr := strconv.Atoi(name)
		if nerr != nil || n < 0 {
			return nil, fmt.Errorf("option user %q: no such account (%v): create it (useradd --system %s, or USERID in the OpenWrt package) or name another", name, err, name)
		}
		// A bare number without a passwd entry: its group is the same number.
		c.uid, c.gid = n, n
	} else {
		if c.uid, err = strconv.Atoi(u.Uid); err != nil {
			return nil, fmt.Errorf("option user %q: uid %q is not a number", name, u.Uid)
		}
		if c.gid, err = strconv.Atoi(u.Gid); err != nil {
			return nil, fmt.Errorf("option user %q: gid %q is not a number", name, u.Gid)
		}
		if ids, err := u.GroupIds(); err == nil {
			for _, id := range ids {
				if n, err := strconv.Atoi(id); err == nil {
					c.groups = append(c.groups, n)
				}
			}
		}
	}
	if group != "" {
		g, err := osuser.LookupGroup(group)
		if err == nil {
			c.gid, err = strconv.Atoi(g.Gid)
			if err != nil {
				return nil, fmt.Errorf("option group %q: gid %q is not a number", group, g.Gid)
			}
		} else if n, nerr := strconv.Atoi(group); nerr == nil && n >= 0 {
			c.gid = n
		} else {
			return nil, fmt.Errorf("option group %q: no such group (%v)", group, err)
		}
	}
	if !contains(c.groups, c.gid) {
		c.groups = append(c.groups, c.gid)
	}
	return c, nil
}

func contains(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}

// raiseNofile lifts the soft limit of open files to the hard limit: every
// client is a descriptor, and the soft limit (often 1024) is the one that
// refuses connections. It returns the limit in force.
func raiseNofile() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return 0, err
		}
	}
	return l.Cur, nil
}

// dropPrivileges runs once the listeners are bound and the store and admin
// socket are open: it gives the data directory and the admin socket to the
// account, then switches to it for good. Nothing that follows runs as root.
func dropPrivileges(c *creds, cfg *config.Config, log *slog.Logger) error {
	n, err := chownTree(cfg.DataDir, c.uid, c.gid)
	if err != nil {
		return err
	}
	if n > 0 {
		log.Info("data directory given to the account xmppd runs as", "dir", cfg.DataDir, "user", c.name, "files", n)
	}
	if err := os.Lchown(cfg.AdminSocket, c.uid, c.gid); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("admin socket %s: %w", cfg.AdminSocket, err)
	}
	// Groups first: after setgid and setuid there is no right to change
	// them. Since Go 1.16 these apply to every thread of the process.
	if err := syscall.Setgroups(c.groups); err != nil {
		return fmt.Errorf("setgroups %v: %w", c.groups, err)
	}
	if err := syscall.Setgid(c.gid); err != nil {
		return fmt.Errorf("setgid %d: %w", c.gid, err)
	}
	if err := syscall.Setuid(c.uid); err != nil {
		return fmt.Errorf("setuid %d: %w", c.uid, err)
	}
	// The switch must be for good: root must not come back.
	if syscall.Setuid(0) == nil || syscall.Geteuid() != c.uid || syscall.Getegid() != c.gid {
		return fmt.Errorf("the switch to uid %d, gid %d did not hold", c.uid, c.gid)
	}
	// no_new_privs belongs to each thread, unlike the ids above.
	if _, _, errno := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); errno == syscall.ENOTSUP {
		// A cgo build cannot reach every thread; the threads made from
		// here on inherit it from this one.
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("no_new_privs: %w", err)
		}
		log.Warn("no_new_privs is set on new threads only: this xmppd is built with cgo")
	} else if errno != 0 {
		return fmt.Errorf("no_new_privs: %w", errno)
	}
	log.Info("dropped root", "user", c.name, "uid", c.uid, "gid", c.gid, "groups", c.groups)
	// Certificates named in the configuration are read again on reload,
	// now without root.
	for _, h := range cfg.Hosts {
		for _, f := range []string{h.Cert, h.Key} {
			if f == "" {
				continue
			}
			if fh, err := os.Open(f); err != nil {
				log.Warn("the account xmppd runs as cannot read this file, so a reload cannot renew it: make it readable to the group (chgrp, chmod g+r)", "file", f, "user", c.name, "err", err)
			} else {
				fh.Close()
			}
		}
	}
	return nil
}

// chownTree gives dir and everything in it to uid and gid, not following
// symbolic links; it returns how many entries changed. It refuses the root
// folder and folders right below it (a data_dir of /etc or /var is a
// mistake that must not hand the system's files to the daemon).
func chownTree(dir string, uid, gid int) (int, error) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return 0, fmt.Errorf("data directory %s: %w", dir, err)
	}
	real, err = filepath.Abs(real)
	if err != nil {
		return 0, err
	}
	if strings.Count(strings.TrimSuffix(real, "/"), "/") < 2 {
		return 0, fmt.Errorf("data directory %s is %s, a system folder: xmppd gives its data directory to option user, so give it one of its own, such as /var/lib/xmppd or /etc/xmppd", dir, real)
	}
	n := 0
	err = filepath.WalkDir(real, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && int(st.Uid) == uid && int(st.Gid) == gid {
			return nil
		}
		n++
		return os.Lchown(path, uid, gid)
	})
	if err != nil {
		return n, fmt.Errorf("giving the data directory to uid %d: %w", uid, err)
	}
	return n, nil
}
