package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// ranges prints, for each group of runs (tag, server, variant, scenario),
// the median and the range of the fields asked for: a noisy machine shows
// in the spread, which a median alone hides.
//
//	report ranges -fields msgs_per_sec,lat_p99_ms results-a.jsonl results-b.jsonl
func ranges(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("ranges", flag.ContinueOnError)
	fields := fs.String("fields", "", "comma-separated fields of the load generator's lines (a.b for a nested one)")
	scenario := fs.String("scenario", "", "only lines of this scenario")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *fields == "" || fs.NArg() == 0 {
		return errors.New("ranges needs -fields and at least one results file")
	}
	names := strings.Split(*fields, ",")
	type group struct {
		key    string
		values [][]float64 // per field
		failed int
	}
	var order []string
	groups := map[string]*group{}
	for _, path := range fs.Args() {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		tag := ""
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			if meta, ok := line["meta"].(map[string]any); ok {
				tag, _ = meta["tag"].(string)
				continue
			}
			s, _ := line["scenario"].(string)
			if *scenario != "" && s != *scenario {
				continue
			}
			key := fmt.Sprintf("%s | %v | %v | %s", tag, line["server"], line["variant"], s)
			g := groups[key]
			if g == nil {
				g = &group{key: key, values: make([][]float64, len(names))}
				groups[key] = g
				order = append(order, key)
			}
			if e, _ := line["error"].(string); e != "" {
				g.failed++
				continue
			}
			if n, _ := line["failed"].(float64); n > 0 {
				g.failed++
			}
			for i, name := range names {
				if v, ok := lookup(line, name); ok {
					g.values[i] = append(g.values[i], v)
				}
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	fmt.Fprintf(w, "| tag | server | variant | scenario | runs with failures | %s |\n", strings.Join(names, " | "))
	fmt.Fprintf(w, "|---|---|---|---|---:|%s\n", strings.Repeat("---:|", len(names)))
	for _, key := range order {
		g := groups[key]
		cells := make([]string, len(names))
		for i, vs := range g.values {
			cells[i] = spread(vs)
		}
		fmt.Fprintf(w, "| %s | %d | %s |\n", key, g.failed, strings.Join(cells, " | "))
	}
	return nil
}

// lookup finds a number by a dotted path; an index into an array is a
// number ("steps.1.rss_kib").
func lookup(v any, path string) (float64, bool) {
	for part := range strings.SplitSeq(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return 0, false
			}
			v = x[i]
		default:
			return 0, false
		}
	}
	f, ok := v.(float64)
	return f, ok
}

// spread is "median (min–max, n)", or "median" for one value.
func spread(vs []float64) string {
	if len(vs) == 0 {
		return "–"
	}
	vs = slices.Sorted(slices.Values(vs))
	med := vs[len(vs)/2]
	if len(vs)%2 == 0 {
		med = (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
	}
	if len(vs) == 1 {
		return num(med)
	}
	return fmt.Sprintf("%s (%s–%s)", num(med), num(vs[0]), num(vs[len(vs)-1]))
}

// num prints a figure with sensible precision.
func num(v float64) string {
	switch a := max(v, -v); {
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}
