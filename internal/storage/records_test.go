package storage

//go:generate msgp -file=records_test.go -o=records_gen_test.go -tests=false -io=false -unexported

// account stands in for a module's keyval record.
type account struct {
	Password string `msg:"password"`
	Created  int64  `msg:"created"`
}

// contact stands in for a module's map record.
type contact struct {
	Name         string   `msg:"name"`
	Groups       []string `msg:"groups"`
	Subscription string   `msg:"subscription"`
}
