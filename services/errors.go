// Package services holds Trivium's domain: its types, the interfaces its drivers implement and
// the error codes every layer speaks. It imports no driver and no transport.
package services

import (
	"errors"
	"fmt"
	"time"
)

// Error codes shared by every layer. Transports map them to their own statuses in one table.
const (
	EInvalid         = "invalid"
	ENotFound        = "not_found"
	EConflict        = "conflict"
	EForbidden       = "forbidden"
	EUnauthenticated = "unauthenticated"
	ETooLarge        = "too_large"
	ERateLimited     = "rate_limited"
	EUnavailable     = "unavailable"
	// EBusy is a bounded resource (the password-hashing queue, descriptors) that is full right
	// now: the same request succeeds later, so transports say when to retry.
	EBusy     = "busy"
	EInternal = "internal"
	// EMuted refuses chat from a player a moderator muted (until a time).
	EMuted = "muted"
)

// Error is a domain error: a code, a human message and, for EInvalid, per-field messages.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
	// RetryAfter, when set, is how long the caller should wait before trying again (rate limits,
	// full queues); transports send it as Retry-After.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns a domain error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EInvalid error carrying per-field problems; nil when there are none.
func Invalid(fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	return &Error{Code: EInvalid, Message: "validation failed", Fields: fields}
}

// ErrorCode returns the code of a domain error anywhere in err's chain, EInternal otherwise.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	}
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the human message of a domain error; internal errors never leak detail.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorFields returns the per-field problems of a domain error, if any.
func ErrorFields(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// ErrorRetryAfter returns how long a domain error asks the caller to wait, zero if it does not.
func ErrorRetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
