// Command report keeps the peer benchmark's results and turns them into
// Markdown tables.
//
//	report add -server S -variant V -run N -scenario X -exit CODE -out FILE -err FILE [-error WHY]
//	    prints the load generator's JSON line from FILE with server, variant
//	    and run added, or a line with an error when there is none
//	report table [-o FILE] results.jsonl
//	    one table per variant: medians of the runs, xmppd beside the peers,
//	    and notes on every failure
//	report ranges -fields F1,F2 [-scenario S] results.jsonl...
//	    median and range of each field per tag, server, variant and scenario
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "add":
		err = add(os.Args[2:], os.Stdout)
	case "table":
		err = table(os.Args[2:], os.Stdout)
	case "ranges":
		err = ranges(os.Args[2:], os.Stdout)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: report add -server S -variant V -run N -scenario X -exit CODE -out FILE [-err FILE] [-error WHY]\n       report table [-o FILE] results.jsonl\n       report ranges -fields F1,F2 [-scenario S] results.jsonl...")
	os.Exit(2)
}

// add prints one results line for a load generator run. The load generator
// prints one JSON object; anything else it printed, or a crash before it
// printed, becomes an error field, so the table can say why a figure is
// missing instead of failing.
func add(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("add", flag.ContinueOnError)
	server := fs.String("server", "", "server name")
	variant := fs.String("variant", "", "plain or starttls")
	run := fs.Int("run", 0, "run number")
	scenario := fs.String("scenario", "", "scenario the load generator ran")
	exit := fs.Int("exit", 0, "the load generator's exit status")
	out := fs.String("out", "", "file with the load generator's stdout")
	errFile := fs.String("err", "", "file with the load generator's stderr")
	why := fs.String("error", "", "why the load generator did not run (the server did not start, …)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	stdout, _ := os.ReadFile(*out)
	var stderr []byte
	if *errFile != "" {
		stderr, _ = os.ReadFile(*errFile)
	}
	line := lastObject(stdout)
	parsed := line != nil
	if !parsed {
		line = map[string]any{}
	}
	if _, ok := line["scenario"]; !ok {
		line["scenario"] = *scenario
	}
	line["server"], line["variant"], line["run"] = *server, *variant, *run
	if *exit != 0 {
		line["exit"] = *exit
	}
	if *why != "" {
		line["error"] = *why
	} else if s, _ := line["error"].(string); s == "" && (*exit != 0 || !parsed) {
		msg := lastLine(stderr)
		if msg == "" {
			msg = "no output"
		}
		line["error"] = fmt.Sprintf("load generator exit %d: %s", *exit, msg)
	}
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// lastObject is the last line of b that is a JSON object.
func lastObject(b []byte) map[string]any {
	lines := bytes.Split(b, []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		l := bytes.TrimSpace(lines[i])
		if len(l) == 0 || l[0] != '{' {
			continue
		}
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(l))
		d.UseNumber()
		if d.Decode(&m) == nil {
			return m
		}
	}
	return nil
}

// lastLine is the last non-empty line of b, shortened for a table note.
func lastLine(b []byte) string {
	var last string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			last = s
		}
	}
	if len(last) > 200 {
		last = last[:200] + "…"
	}
	return last
}
