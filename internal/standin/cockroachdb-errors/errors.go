// Package errors stands in for github.com/cockroachdb/errors in xmppd's
// build: it has the functions pebble calls, with the same Error() text and
// the same errors.Is and errors.As answers for pebble's own errors, built on
// the standard library's errors and fmt.
//
// What it leaves out: stack traces, Sentry reports, protobuf encoding of
// errors for the network, redaction of error messages, and the rule that two
// distinct errors with the same type and message are the same error. Hints,
// details and secondary errors are kept and shown by %+v, after the message.
//
// README.md says why xmppd carries it and how to check it on a pebble upgrade.
package errors

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cockroachdb/redact"
)

// New returns an error whose message is msg.
func New(msg string) error { return errors.New(msg) }

// Newf returns an error with a formatted message. As with fmt.Errorf, a %w
// verb makes the error wrap its argument; an error passed with another verb
// is only part of the text.
func Newf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// Errorf is Newf.
func Errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// AssertionFailedf returns an error for a broken invariant, with a formatted
// message; %+v says it is one.
func AssertionFailedf(format string, args ...any) error {
	return &assertionFailure{cause: fmt.Errorf(format, args...)}
}

// Wrap prefixes err's message with msg and ": ". It returns nil for a nil
// err, and err itself for an empty msg.
func Wrap(err error, msg string) error {
	if err == nil {
		return nil
	}
	if msg == "" {
		return err
	}
	return &withPrefix{cause: err, prefix: msg}
}

// Wrapf is Wrap with a formatted prefix. Errors among args are only part of
// the prefix's text; err stays the one cause.
func Wrapf(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if format == "" && len(args) == 0 {
		return err
	}
	return &withPrefix{cause: err, prefix: fmt.Sprintf(format, args...)}
}

// WithStack returns err: there are no stack traces here.
func WithStack(err error) error { return err }

// WithDetailf attaches a detail, shown by %+v but not in Error().
func WithDetailf(err error, format string, args ...any) error {
	return withNote(err, "detail", format, args)
}

// WithHintf attaches a hint, shown by %+v but not in Error().
func WithHintf(err error, format string, args ...any) error {
	return withNote(err, "hint", format, args)
}

// WithSafeDetails attaches details, shown by %+v but not in Error().
func WithSafeDetails(err error, format string, args ...any) error {
	return withNote(err, "safe details", format, args)
}

func withNote(err error, label, format string, args []any) error {
	if err == nil {
		return nil
	}
	return &withNoteError{cause: err, label: label, note: fmt.Sprintf(format, args...)}
}

// WithSecondaryError attaches other to err. The result has err's message and
// causes; other is shown by %+v, and errors.Is and errors.As do not see it.
func WithSecondaryError(err, other error) error {
	if err == nil || other == nil {
		return err
	}
	return &withSecondary{cause: err, other: other}
}

// CombineErrors returns err with other attached as a secondary error, or
// other when err is nil.
func CombineErrors(err, other error) error {
	if err == nil {
		return other
	}
	return WithSecondaryError(err, other)
}

// Mark returns err, which errors.Is also finds to be reference (and whatever
// reference wraps). The message stays err's.
func Mark(err, reference error) error {
	if err == nil {
		return nil
	}
	return &marked{cause: err, mark: reference}
}

// Join returns an error wrapping every non-nil error in errs, with their
// messages on separate lines, or nil if there is none. It is errors.Join,
// except that %+v shows each error with %+v.
func Join(errs ...error) error {
	var j joinError
	for _, err := range errs {
		if err != nil {
			j.errs = append(j.errs, err)
		}
	}
	if j.errs == nil {
		return nil
	}
	return &j
}

// Is reports whether err or one of its causes is reference, as the standard
// errors.Is does.
func Is(err, reference error) bool { return errors.Is(err, reference) }

// As finds the first error in err's causes that target can hold, as the
// standard errors.As does.
func As(err error, target any) bool { return errors.As(err, target) }

// unwrapOnce returns err's direct cause, from an Unwrap() error or a
// Cause() error method, or nil.
func unwrapOnce(err error) error {
	switch e := err.(type) {
	case interface{ Unwrap() error }:
		return e.Unwrap()
	case interface{ Cause() error }:
		return e.Cause()
	}
	return nil
}

// UnwrapAll follows single causes down to the innermost error.
func UnwrapAll(err error) error {
	for {
		next := unwrapOnce(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// Safe marks v as safe to show in redacted output; formatted, it prints v.
func Safe(v any) redact.SafeValue { return redact.Safe(v) }

// withPrefix is Wrap's and Wrapf's error.
type withPrefix struct {
	cause  error
	prefix string
}

func (e *withPrefix) Error() string { return e.prefix + ": " + e.cause.Error() }
func (e *withPrefix) Unwrap() error { return e.cause }

func (e *withPrefix) Format(s fmt.State, verb rune) {
	if verb == 'v' && s.Flag('+') {
		fmt.Fprintf(s, "%s: %+v", e.prefix, e.cause)
		return
	}
	format(s, verb, e.Error())
}

// withNoteError carries a detail or hint that only %+v shows.
type withNoteError struct {
	cause error
	label string
	note  string
}

func (e *withNoteError) Error() string { return e.cause.Error() }
func (e *withNoteError) Unwrap() error { return e.cause }

func (e *withNoteError) Format(s fmt.State, verb rune) {
	if verb == 'v' && s.Flag('+') {
		fmt.Fprintf(s, "%+v\n(%s: %s)", e.cause, e.label, e.note)
		return
	}
	format(s, verb, e.Error())
}

// withSecondary carries an error that happened on the way, shown by %+v.
type withSecondary struct {
	cause error
	other error
}

func (e *withSecondary) Error() string { return e.cause.Error() }
func (e *withSecondary) Unwrap() error { return e.cause }

func (e *withSecondary) Format(s fmt.State, verb rune) {
	if verb == 'v' && s.Flag('+') {
		fmt.Fprintf(s, "%+v\n(secondary error: %+v)", e.cause, e.other)
		return
	}
	format(s, verb, e.Error())
}

// marked is Mark's error.
type marked struct {
	cause error
	mark  error
}

func (e *marked) Error() string        { return e.cause.Error() }
func (e *marked) Unwrap() error        { return e.cause }
func (e *marked) Is(target error) bool { return errors.Is(e.mark, target) }

func (e *marked) Format(s fmt.State, verb rune) {
	if verb == 'v' && s.Flag('+') {
		fmt.Fprintf(s, "%+v", e.cause)
		return
	}
	format(s, verb, e.Error())
}

// joinError is Join's error.
type joinError struct{ errs []error }

func (e *joinError) Error() string {
	msgs := make([]string, len(e.errs))
	for i, err := range e.errs {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "\n")
}

func (e *joinError) Unwrap() []error { return e.errs }

func (e *joinError) Format(s fmt.State, verb rune) {
	if verb == 'v' && s.Flag('+') {
		for i, err := range e.errs {
			if i > 0 {
				_, _ = io.WriteString(s, "\n")
			}
			fmt.Fprintf(s, "%+v", err)
		}
		return
	}
	format(s, verb, e.Error())
}

// assertionFailure is AssertionFailedf's error.
type assertionFailure struct{ cause error }

func (e *assertionFailure) Error() string { return e.cause.Error() }
func (e *assertionFailure) Unwrap() error { return e.cause }

func (e *assertionFailure) Format(s fmt.State, verb rune) {
	if verb == 'v' && s.Flag('+') {
		fmt.Fprintf(s, "%+v\n(assertion failure)", e.cause)
		return
	}
	format(s, verb, e.Error())
}

// format prints msg as fmt prints a string, with the verb and flags given
// (%v and %s print it as is, %q quotes it).
func format(s fmt.State, verb rune, msg string) {
	fmt.Fprintf(s, fmt.FormatString(s, verb), msg)
}
