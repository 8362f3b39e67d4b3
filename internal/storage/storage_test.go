package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tinylib/msgp/msgp"
)

// openAt opens dir and closes it when the test ends.
func openAt(t testing.TB, dir string) *DB {
	t.Helper()
	db, err := Open(Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func openTemp(t testing.TB) *DB {
	t.Helper()
	return openAt(t, t.TempDir())
}

func TestKeyValRoundTrip(t *testing.T) {
	db := openTemp(t)
	kv := db.KeyVal("accounts", true)

	var got account
	found, err := kv.Get("example.org", "juliet", &got)
	if err != nil || found {
		t.Fatalf("Get before Set = %v, %v; want not found", found, err)
	}

	want := account{Password: "s3cret", Created: 1700000000}
	if err := kv.Set("example.org", "juliet", &want); err != nil {
		t.Fatal(err)
	}
	found, err = kv.Get("example.org", "juliet", &got)
	if err != nil || !found || got != want {
		t.Fatalf("Get = %+v, %v, %v; want %+v", got, found, err, want)
	}

	// Names that share a beginning must not see each other's records.
	for _, user := range []string{"j", "juliet2", "julie"} {
		var other account
		if found, err := kv.Get("example.org", user, &other); err != nil || found {
			t.Errorf("Get(%q) = %v, %v; want not found", user, found, err)
		}
	}
	if found, _ := db.KeyVal("account", false).Get("example.org", "juliet", &got); found {
		t.Error("a store named like the start of another sees its records")
	}
	if found, _ := db.Map("accounts", false).Get("example.org", "juliet", "", &got); found {
		t.Error("a map store sees a keyval store's record of the same name")
	}

	want.Password = "changed"
	if err := kv.Set("example.org", "juliet", &want); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get("example.org", "juliet", &got); err != nil || got != want {
		t.Fatalf("Get after overwrite = %+v, %v; want %+v", got, err, want)
	}

	if err := kv.Delete("example.org", "juliet"); err != nil {
		t.Fatal(err)
	}
	if found, err := kv.Get("example.org", "juliet", &got); err != nil || found {
		t.Fatalf("Get after Delete = %v, %v; want not found", found, err)
	}
	if err := kv.Delete("example.org", "nobody"); err != nil {
		t.Fatalf("Delete of a missing record: %v", err)
	}
}

func TestKeyValDecodeError(t *testing.T) {
	db := openTemp(t)
	if err := db.KeyVal("s", false).Set("h", "u", rawMsg{0xa1, 'x'}); err != nil {
		t.Fatal(err)
	}
	var got account
	found, err := db.KeyVal("s", false).Get("h", "u", &got)
	if err == nil || found {
		t.Fatalf("Get into the wrong type = %v, %v; want an error", found, err)
	}
}

// rawMsg writes its bytes as they are, to store what no record decodes.
type rawMsg []byte

func (r rawMsg) MarshalMsg(b []byte) ([]byte, error) { return append(b, r...), nil }

func TestUsers(t *testing.T) {
	db := openTemp(t)
	kv := db.KeyVal("accounts", false)
	m := db.Map("roster", false)
	a := db.Archive("archive", false)
	users := []string{"romeo", "juliet", "", "ann", "anna", "an"}
	for _, u := range users {
		if err := kv.Set("example.org", u, &account{}); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if err := m.Set("example.org", u, fmt.Sprint("contact", i), &contact{}); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Append("example.org", u, time.Time{}, "", []byte("x")); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Another host and another store must not show up.
	if err := kv.Set("example.net", "tybalt", &account{}); err != nil {
		t.Fatal(err)
	}
	if err := db.KeyVal("accounts2", false).Set("example.org", "mercutio", &account{}); err != nil {
		t.Fatal(err)
	}

	want := slices.Clone(users)
	slices.Sort(want)
	for name, list := range map[string]func(string) ([]string, error){
		"keyval": kv.Users, "map": m.Users, "archive": a.Users,
	} {
		got, err := list("example.org")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s Users = %q; want %q", name, got, want)
		}
		if got, err := list("nowhere.example"); err != nil || len(got) != 0 {
			t.Errorf("%s Users of an empty host = %q, %v", name, got, err)
		}
	}
}

func TestMapRoundTrip(t *testing.T) {
	db := openTemp(t)
	m := db.Map("roster", true)
	want := map[string]contact{
		"romeo@example.net":    {Name: "Romeo", Groups: []string{"Friends"}, Subscription: "both"},
		"nurse@example.org":    {Name: "Nurse", Subscription: "to"},
		"with\x00nul":          {Name: "keys may hold any byte"},
		"":                     {Name: "empty key"},
		"benvolio@example.net": {Name: "Benvolio"},
	}
	for k, v := range want {
		if err := m.Set("example.org", "juliet", k, &v); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Set("example.org", "romeo", "juliet@example.org", &contact{Name: "Juliet"}); err != nil {
		t.Fatal(err)
	}

	var got contact
	found, err := m.Get("example.org", "juliet", "romeo@example.net", &got)
	if err != nil || !found || !reflect.DeepEqual(got, want["romeo@example.net"]) {
		t.Fatalf("Get = %+v, %v, %v", got, found, err)
	}
	if found, err := m.Get("example.org", "juliet", "tybalt@example.net", &got); err != nil || found {
		t.Fatalf("Get of a missing key = %v, %v", found, err)
	}

	seen := map[string]contact{}
	var order []string
	err = m.Each("example.org", "juliet", func(key string, data []byte) error {
		var c contact
		if _, err := c.UnmarshalMsg(data); err != nil {
			return err
		}
		seen[key] = c
		order = append(order, key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("Each saw %+v; want %+v", seen, want)
	}
	if !slices.IsSorted(order) {
		t.Errorf("Each order %q is not sorted", order)
	}

	stop := errors.New("stop")
	calls := 0
	err = m.Each("example.org", "juliet", func(string, []byte) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Errorf("Each with a failing fn = %v after %d calls; want stop after 1", err, calls)
	}

	if err := m.Delete("example.org", "juliet", "nurse@example.org"); err != nil {
		t.Fatal(err)
	}
	if found, _ := m.Get("example.org", "juliet", "nurse@example.org", &got); found {
		t.Error("record still there after Delete")
	}

	if err := m.DeleteAll("example.org", "juliet"); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := m.Each("example.org", "juliet", func(string, []byte) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("after DeleteAll Each saw %d records, %v", n, err)
	}
	if found, _ := m.Get("example.org", "romeo", "juliet@example.org", &got); !found {
		t.Error("DeleteAll of juliet removed romeo's record")
	}
}

// fill writes one record of every kind in several stores for user on host.
func fill(t *testing.T, db *DB, host, user string) {
	t.Helper()
	for _, st := range []string{"accounts", "vcard"} {
		if err := db.KeyVal(st, false).Set(host, user, &account{Password: user}); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range []string{"roster", "private"} {
		if err := db.Map(st, false).Set(host, user, "k", &contact{Name: user}); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range []string{"archive", "offline"} {
		if _, err := db.Archive(st, false).Append(host, user, time.Time{}, "", []byte(user)); err != nil {
			t.Fatal(err)
		}
	}
}

// count returns how many records user on host has across fill's stores.
func count(t *testing.T, db *DB, host, user string) int {
	t.Helper()
	n := 0
	for _, st := range []string{"accounts", "vcard"} {
		var a account
		found, err := db.KeyVal(st, false).Get(host, user, &a)
		if err != nil {
			t.Fatal(err)
		}
		if found {
			n++
		}
	}
	for _, st := range []string{"roster", "private"} {
		if err := db.Map(st, false).Each(host, user, func(string, []byte) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range []string{"archive", "offline"} {
		items, _, err := db.Archive(st, false).Find(host, user, Query{})
		if err != nil {
			t.Fatal(err)
		}
		n += len(items)
	}
	return n
}

func TestDeleteUser(t *testing.T) {
	dir := t.TempDir()
	db := openAt(t, dir)
	who := [][2]string{
		{"example.org", "juliet"}, {"example.org", "romeo"},
		{"example.net", "juliet"}, {"example.net", "romeo"},
		{"example.org", "julie"}, {"example.org", "juliet2"},
	}
	for _, w := range who {
		fill(t, db, w[0], w[1])
	}
	// The registry is read from disk, so a store written before a restart
	// and not opened since must be covered too.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, dir)

	if err := db.DeleteUser("example.org", "juliet"); err != nil {
		t.Fatal(err)
	}
	for _, w := range who {
		want := 6
		if w == who[0] {
			want = 0
		}
		if got := count(t, db, w[0], w[1]); got != want {
			t.Errorf("%s@%s has %d records after DeleteUser(juliet@example.org); want %d", w[1], w[0], got, want)
		}
	}
	if err := db.DeleteUser("example.org", "nobody"); err != nil {
		t.Errorf("DeleteUser of a user without data: %v", err)
	}
}

func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	db := openAt(t, dir)
	// Not durable on purpose: Close must still get these to disk.
	if err := db.KeyVal("accounts", false).Set("h", "u", &account{Password: "p"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Map("roster", false).Set("h", "u", "k", &contact{Name: "n"}); err != nil {
		t.Fatal(err)
	}
	id, err := db.Archive("archive", false).Append("h", "u", time.UnixMicro(1234567), "w", []byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := db.KeyVal("accounts", false).Set("h", "u", &account{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Set after Close = %v; want ErrClosed", err)
	}

	db = openAt(t, dir)
	var a account
	if found, err := db.KeyVal("accounts", false).Get("h", "u", &a); err != nil || !found || a.Password != "p" {
		t.Errorf("keyval after reopen = %+v, %v, %v", a, found, err)
	}
	var c contact
	if found, err := db.Map("roster", false).Get("h", "u", "k", &c); err != nil || !found || c.Name != "n" {
		t.Errorf("map after reopen = %+v, %v, %v", c, found, err)
	}
	items, total, err := db.Archive("archive", false).Find("h", "u", Query{})
	want := []Item{{ID: id, When: time.UnixMicro(1234567), With: "w", Payload: []byte("payload")}}
	if err != nil || total != 1 || !reflect.DeepEqual(items, want) {
		t.Errorf("archive after reopen = %+v, %d, %v; want %+v", items, total, err, want)
	}
}

func TestLockedSameProcess(t *testing.T) {
	dir := t.TempDir()
	openAt(t, dir)
	db, err := Open(Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if !errors.Is(err, ErrLocked) {
		if db != nil {
			_ = db.Close()
		}
		t.Fatalf("second Open = %v; want ErrLocked", err)
	}
}

func TestBadNames(t *testing.T) {
	db := openTemp(t)
	var a account
	checks := map[string]error{}
	checks["store"] = db.KeyVal("bad\x00store", false).Set("h", "u", &a)
	checks["empty store"] = db.Map("", false).Set("h", "u", "k", &a)
	checks["host"] = db.KeyVal("s", false).Set("bad\x00host", "u", &a)
	checks["user"] = db.KeyVal("s", false).Set("h", "bad\x00user", &a)
	_, checks["keyval get"] = db.KeyVal("s", false).Get("h", "bad\x00user", &a)
	_, checks["map get"] = db.Map("s", false).Get("bad\x00host", "u", "k", &a)
	_, checks["archive append"] = db.Archive("s", false).Append("h", "bad\x00user", time.Time{}, "", nil)
	_, _, checks["archive find"] = db.Archive("bad\x00store", false).Find("h", "u", Query{})
	_, checks["users"] = db.KeyVal("s", false).Users("bad\x00host")
	checks["delete user"] = db.DeleteUser("h", "bad\x00user")
	for name, err := range checks {
		if !errors.Is(err, ErrBadName) {
			t.Errorf("%s: got %v; want ErrBadName", name, err)
		}
	}
	// Nothing must have reached the registry.
	stores, err := db.stores()
	if err != nil || len(stores) != 0 {
		t.Errorf("registry after rejected writes = %+v, %v", stores, err)
	}
}

func TestConcurrent(t *testing.T) {
	db := openTemp(t)
	kv := db.KeyVal("accounts", false)
	a := db.Archive("archive", false)
	var wg sync.WaitGroup
	const workers, each = 8, 25
	ids := make(chan string, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				user := fmt.Sprint("user", w)
				if err := kv.Set("h", user, &account{Created: int64(i)}); err != nil {
					t.Error(err)
					return
				}
				id, err := a.Append("h", "shared", time.UnixMicro(42), user, nil)
				if err != nil {
					t.Error(err)
					return
				}
				ids <- id
			}
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Fatalf("id %s handed out twice", id)
		}
		seen[id] = true
	}
	_, total, err := a.Find("h", "shared", Query{})
	if err != nil || total != workers*each {
		t.Errorf("Find total = %d, %v; want %d", total, err, workers*each)
	}
}

func TestMetrics(t *testing.T) {
	db := openTemp(t)
	for i := range 100 {
		if err := db.KeyVal("s", false).Set("h", fmt.Sprint(i), &account{Password: "xxxxxxxxxxxxxxxx"}); err != nil {
			t.Fatal(err)
		}
	}
	s := db.Metrics()
	if s.DiskBytes == 0 || s.MemTableBytes == 0 {
		t.Errorf("Metrics = %+v; want disk and memtable usage", s)
	}
}

// Compile-time checks that the generated records fit the API.
var (
	_ msgp.Marshaler   = (*account)(nil)
	_ msgp.Unmarshaler = (*contact)(nil)
)
