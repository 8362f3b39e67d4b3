package config

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// The value syntaxes shared by Reader and the option tables, kept apart from
// Reader so the tables can parse their defaults with the very same rules.

var errRange = errors.New("out of range")

// parseBool accepts the words OpenWrt's config_get_bool accepts, in any case.
func parseBool(s string) (v, ok bool) {
	switch strings.ToLower(s) {
	case "1", "yes", "on", "true", "enabled":
		return true, true
	case "0", "no", "off", "false", "disabled":
		return false, true
	}
	return false, false
}

// parseSize reads a byte count: digits with an optional binary suffix k, M or
// G in any case, optionally followed by B or iB, so "64k", "64K" and "64KiB"
// are all 65536.
func parseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.ToLower(s), "b")
	if n := len(t); n >= 2 && t[n-1] == 'i' && strings.IndexByte("kmg", t[n-2]) >= 0 {
		t = t[:n-1]
	}
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		}
		if mult > 1 {
			t = t[:n-1]
		}
	}
	if t == "" || strings.Trim(t, "0123456789") != "" {
		return 0, strconv.ErrSyntax
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, errRange
	}
	return n * mult, nil
}

// parseDuration reads a Go duration ("30s", "5m", "1h30m") or a plain number
// of seconds, which is what most OpenWrt packages use for timeouts.
func parseDuration(s string) (time.Duration, error) {
	if s != "" && strings.Trim(s, "0123456789") == "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > math.MaxInt64/int64(time.Second) {
			return 0, errRange
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, strconv.ErrSyntax
	}
	return d, nil
}

// formatSize writes n the short way a user would: 65536 as 64k.
func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"G", 1 << 30}, {"M", 1 << 20}, {"k", 1 << 10}} {
		if n != 0 && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// formatDuration writes d without the zero units time.Duration.String adds
// ("5m" rather than "5m0s").
func formatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}
