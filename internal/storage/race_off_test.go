//go:build !race

package storage

// raceEnabled: the race detector's runtime wakes threads of its own.
const raceEnabled = false
