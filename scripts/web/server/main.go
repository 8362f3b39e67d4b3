// Command server runs xmppd's core with the admin UI on a plain HTTP
// listener, for the browser tests in scripts/web: it loads the
// configuration file given with -c, creates the accounts given with -user,
// serves the server's HTTP routes on -http, and prints "ready" once all of
// that is up. With -static DIR it also serves DIR's files at /test/, so
// that client pages and their libraries share the origin of /http-bind.
package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/logring"

	_ "xmppd/internal/modules/all"
)

type users []string

func (u *users) String() string     { return strings.Join(*u, ",") }
func (u *users) Set(s string) error { *u = append(*u, s); return nil }

func main() {
	file := flag.String("c", "", "configuration file")
	addr := flag.String("http", "127.0.0.1:0", "address to serve HTTP on")
	static := flag.String("static", "", "directory served at /test/")
	var accounts users
	flag.Var(&accounts, "user", "user@host:password, created at start (repeatable)")
	flag.Parse()
	if err := run(*file, *addr, *static, accounts); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(file, addr, static string, accounts []string) error {
	cfg, err := config.Load(file)
	if err != nil {
		return err
	}
	var out io.Writer = io.Discard
	if os.Getenv("XMPPD_TEST_LOG") != "" {
		out = os.Stderr
	}
	log := slog.New(logring.NewHandler(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}), logring.New(500)))
	srv, err := core.New(cfg, log)
	if err != nil {
		return err
	}
	defer srv.Stop()
	if err := srv.Start(); err != nil {
		return err
	}
	for _, a := range accounts {
		who, pass, _ := strings.Cut(a, ":")
		local, host, _ := strings.Cut(who, "@")
		if err := srv.Accounts.Create(host, local, pass); err != nil {
			return fmt.Errorf("account %s: %w", who, err)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	var h http.Handler = srv.HTTP
	if static != "" {
		mux := http.NewServeMux()
		mux.Handle("/test/", http.StripPrefix("/test/", http.FileServer(http.Dir(static))))
		mux.Handle("/", srv.HTTP)
		h = mux
	}
	go http.Serve(ln, h)
	fmt.Printf("ready http://%s\n", ln.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	return nil
}
