package caps

// Verify is verify, for the tests.
var Verify = verify

// SetMaxWaiters changes maxWaiters until the test ends.
func SetMaxWaiters(t interface{ Cleanup(func()) }, n int) {
	old := maxWaiters
	maxWaiters = n
	t.Cleanup(func() { maxWaiters = old })
}
