package service

import (
	"errors"
	"fmt"

	"github.com/muster-sh/muster/mesh"
)

// Code classifies an [Error].
type Code uint8

// The kinds of failure a service call can meet. Each has a sentinel error
// (ErrNoSuchService, ...) that an [*Error] of that code matches with
// errors.Is.
const (
	CodeFailed        Code = iota + 1 // the method ran and returned an error (or panicked)
	CodeNoSuchService                 // no service of that name exists in the context
	CodeNoSuchMethod                  // the service has no method of that name
	CodeNotExposed                    // the method exists but has no policy, so nobody may call it
	CodeRefused                       // a policy of the method refused the caller
	CodeNotActivated                  // the service is not active and the caller may not activate it
	CodeBadArgs                       // the arguments do not match the method's request type
	CodeBadRequest                    // the call message itself is malformed
	CodeClosed                        // the pool is closed
	CodeBusy                          // the pool has too many calls waiting for a worker
)

// Sentinel errors matched by [*Error] values of the corresponding [Code].
var (
	ErrFailed        = errors.New("service method failed")
	ErrNoSuchService = errors.New("no such service")
	ErrNoSuchMethod  = errors.New("no such method")
	ErrNotExposed    = errors.New("method not exposed")
	ErrRefused       = errors.New("refused by policy")
	ErrNotActivated  = errors.New("service not activated")
	ErrBadArgs       = errors.New("bad arguments")
	ErrBadRequest    = errors.New("malformed service call")
	ErrClosed        = errors.New("service pool closed")
	ErrBusy          = errors.New("service pool busy")
)

var sentinels = [...]error{
	CodeFailed:        ErrFailed,
	CodeNoSuchService: ErrNoSuchService,
	CodeNoSuchMethod:  ErrNoSuchMethod,
	CodeNotExposed:    ErrNotExposed,
	CodeRefused:       ErrRefused,
	CodeNotActivated:  ErrNotActivated,
	CodeBadArgs:       ErrBadArgs,
	CodeBadRequest:    ErrBadRequest,
	CodeClosed:        ErrClosed,
	CodeBusy:          ErrBusy,
}

// Sentinel returns the sentinel error for c, or nil for an unknown code.
func (c Code) Sentinel() error {
	if int(c) < len(sentinels) {
		return sentinels[c]
	}
	return nil
}

// String names the code.
func (c Code) String() string {
	if e := c.Sentinel(); e != nil {
		return e.Error()
	}
	return fmt.Sprintf("code(%d)", uint8(c))
}

// Error is the error a service call returns when the call was refused or the
// method failed, on the side that served it and, carried in the reply, on the
// side that called it. Use errors.Is with the sentinels (ErrRefused, ...) to
// test the kind, errors.As to an [*ArgError] for argument problems, and
// errors.As to a *[mesh.CallError] for the remote error's type, message and
// stack (the stack is sent only when the serving [Pool] has Debug set).
type Error struct {
	Code    Code
	Service string  // the service called
	Method  string  // the method called; empty if the service was not found
	Caller  mesh.ID // the authenticated caller, as seen by the serving context
	Msg     string  // for CodeFailed: the method's error text; otherwise a detail, if any
	Arg     *ArgError
	// Remote is the error as the serving context described it; it is set on
	// the calling side (Type names the Go type of the method's error).
	Remote *mesh.CallError
	// Err is the local cause on the serving side (the method's error); it
	// does not travel.
	Err error

	refusal bool // made by Refuse or badArg: passed to the caller as it is
}

// Refuse returns an error for a method to return when it refuses a call for
// a reason of its own (a path not registered, ...): the caller receives an
// [*Error] with CodeRefused, naming the method and service, with the
// formatted reason.
func Refuse(format string, args ...any) error {
	return &Error{Code: CodeRefused, Msg: fmt.Sprintf(format, args...), refusal: true}
}

// badArg returns the error a method returns for an argument of the right
// type whose value it does not accept: the caller receives an [*Error] with
// CodeBadArgs carrying an [*ArgError] (ArgInvalid) naming the field.
func badArg(field, got, want string) error {
	return &Error{Code: CodeBadArgs, Arg: &ArgError{Problem: ArgInvalid, Field: field, Got: got, Want: want}, refusal: true}
}

// Error describes the failure, naming the service and method.
func (e *Error) Error() string {
	switch e.Code {
	case CodeNoSuchService:
		return fmt.Sprintf("service %q: no such service in this context", e.Service)
	case CodeNoSuchMethod:
		return fmt.Sprintf("service %q has no method %q", e.Service, e.Method)
	case CodeNotExposed:
		return fmt.Sprintf("method %q of service %q is not exposed: it has no policy", e.Method, e.Service)
	case CodeRefused:
		if e.Msg != "" {
			return fmt.Sprintf("caller (context %d) is not authorized to invoke %q of service %q: %s", e.Caller, e.Method, e.Service, e.Msg)
		}
		return fmt.Sprintf("caller (context %d) is not authorized to invoke %q of service %q", e.Caller, e.Method, e.Service)
	case CodeNotActivated:
		return fmt.Sprintf("service %q is not activated in this context, and the caller (context %d) is not privileged to activate it", e.Service, e.Caller)
	case CodeBadArgs:
		if e.Arg != nil {
			return fmt.Sprintf("method %q of service %q: %v", e.Method, e.Service, e.Arg)
		}
		return fmt.Sprintf("method %q of service %q: bad arguments: %s", e.Method, e.Service, e.Msg)
	case CodeBadRequest:
		return "malformed service call: " + e.Msg
	case CodeClosed:
		return fmt.Sprintf("service %q: the pool is closed", e.Service)
	case CodeBusy:
		return fmt.Sprintf("service %q: the pool is busy: too many calls are waiting for a worker; try again later", e.Service)
	case CodeFailed:
		t := ""
		if e.Remote != nil && e.Remote.Type != "" {
			t = e.Remote.Type + ": "
		}
		return fmt.Sprintf("method %q of service %q failed: %s%s", e.Method, e.Service, t, e.Msg)
	}
	return fmt.Sprintf("service %q method %q: %s: %s", e.Service, e.Method, e.Code, e.Msg)
}

// Is reports whether target is the sentinel for e's code.
func (e *Error) Is(target error) bool {
	return e != nil && target != nil && target == e.Code.Sentinel()
}

// Unwrap returns the argument error, the remote call error and the local cause,
// whichever are set.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Arg != nil {
		errs = append(errs, e.Arg)
	}
	if e.Remote != nil {
		errs = append(errs, e.Remote)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// ArgProblem says what is wrong with one argument.
type ArgProblem uint8

// Argument problems.
const (
	ArgMissing   ArgProblem = iota + 1 // a required field is absent
	ArgWrongType                       // the value does not decode into the field's type
	ArgUnknown                         // the field is not part of the request type
	ArgMalformed                       // the arguments are not a map, or not valid CBOR
	ArgInvalid                         // the value has the right type but is not allowed (checked by the method)
)

// ArgError is an argument that does not match the method's request type. It
// is checked before the method runs, and a call with one runs nothing.
type ArgError struct {
	Problem ArgProblem
	Field   string // the field's name on the wire; empty for ArgMalformed
	Want    string // the Go type expected
	Got     string // the CBOR type received (ArgWrongType) or the decoder's message
}

// Error names the argument and what was expected.
func (e *ArgError) Error() string {
	switch e.Problem {
	case ArgMissing:
		return fmt.Sprintf("required argument %q missing, expected %s", e.Field, e.Want)
	case ArgWrongType:
		return fmt.Sprintf("argument %q type incorrect: got %s, expected %s", e.Field, e.Got, e.Want)
	case ArgUnknown:
		return fmt.Sprintf("unknown argument %q (the request type %s has no such field)", e.Field, e.Want)
	case ArgInvalid:
		return fmt.Sprintf("argument %q invalid: got %s, expected %s", e.Field, e.Got, e.Want)
	}
	if e.Field != "" {
		return fmt.Sprintf("argument %q malformed: %s", e.Field, e.Got)
	}
	return fmt.Sprintf("arguments malformed: %s, expected %s", e.Got, e.Want)
}

// wireError is an *Error as it travels in a reply.
type wireError struct {
	Code    Code      `cbor:"c"`
	Service string    `cbor:"s,omitempty"`
	Method  string    `cbor:"m,omitempty"`
	Caller  mesh.ID   `cbor:"a,omitempty"`
	Msg     string    `cbor:"g,omitempty"`
	Type    string    `cbor:"t,omitempty"`
	Stack   string    `cbor:"k,omitempty"`
	Arg     *ArgError `cbor:"r,omitempty"`
}

func (w *wireError) toError() *Error {
	e := &Error{Code: w.Code, Service: w.Service, Method: w.Method, Caller: w.Caller, Msg: w.Msg, Arg: w.Arg}
	msg := w.Msg
	if e.Code != CodeFailed {
		msg = e.Error()
	}
	e.Remote = &mesh.CallError{Type: w.Type, Msg: msg, Stack: w.Stack}
	return e
}
