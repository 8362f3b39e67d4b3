package caps

// Verify is verify, for the tests.
var Verify = verify
