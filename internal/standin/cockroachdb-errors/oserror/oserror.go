// Package oserror stands in for github.com/cockroachdb/errors/oserror: the
// os package's error tests, made to see through wrapped errors.
package oserror

import (
	"errors"
	"os"

	crerrors "github.com/cockroachdb/errors"
)

// The os package's errors, for errors.Is.
var (
	ErrInvalid    = os.ErrInvalid
	ErrPermission = os.ErrPermission
	ErrExist      = os.ErrExist
	ErrNotExist   = os.ErrNotExist
	ErrClosed     = os.ErrClosed
)

// IsPermission reports whether err, or its innermost cause, says that
// permission was denied.
func IsPermission(err error) bool {
	return errors.Is(err, ErrPermission) || os.IsPermission(crerrors.UnwrapAll(err))
}

// IsExist reports whether err, or its innermost cause, says that a file or
// directory already exists.
func IsExist(err error) bool {
	return errors.Is(err, ErrExist) || os.IsExist(crerrors.UnwrapAll(err))
}

// IsNotExist reports whether err, or its innermost cause, says that a file or
// directory does not exist.
func IsNotExist(err error) bool {
	return errors.Is(err, ErrNotExist) || os.IsNotExist(crerrors.UnwrapAll(err))
}
