// Package join stands in for github.com/cockroachdb/errors/join.
package join

import "github.com/cockroachdb/errors"

// Join returns an error wrapping every non-nil error in errs, with their
// messages on separate lines, or nil if there is none; %+v shows each error
// with %+v.
func Join(errs ...error) error { return errors.Join(errs...) }
