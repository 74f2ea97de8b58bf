package awsiam

import (
	"errors"
	"fmt"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// A CredentialError says that no AWS credentials could be had: which
// profile, from which source, why, and what the user can do. Its text never
// holds a credential, nor anything a credential process printed.
//
// It Is tokenstore.ErrLoginNeeded: waiting does not help, the user must act
// (sign in again, fix the profile), which the proxy reports as such instead
// of retrying.
type CredentialError struct {
	Profile string // the AWS profile, "" for none
	Source  string // where credentials were looked for: "SSO", "credential_process", …
	Reason  string // why there are none, in words
	Fix     string // what to do: `run "aws sso login --profile dev"`; may be ""
	// SSO: a new sign-in (aws sso login) is the fix.
	SSO bool
	Err error // the cause, for errors.Is/As; its text is not shown
}

func (e *CredentialError) Error() string {
	who := "AWS credentials"
	if e.Profile != "" {
		who += fmt.Sprintf(" of profile %q", e.Profile)
	}
	if e.Source != "" {
		who += " (" + e.Source + ")"
	}
	msg := who + ": " + e.Reason
	if e.Fix != "" {
		msg += "; " + e.Fix
	}
	return msg
}

func (e *CredentialError) Unwrap() error { return e.Err }

// Is makes a CredentialError a tokenstore.ErrLoginNeeded.
func (e *CredentialError) Is(target error) bool { return target == tokenstore.ErrLoginNeeded }

// A SignatureError is the Gateway's (or STS's) refusal of a signed
// request: the AWS error type and message it answered with.
type SignatureError struct {
	Status  int
	Type    string // "InvalidSignatureException", "AccessDeniedException", …
	Message string
}

func (e *SignatureError) Error() string {
	s := fmt.Sprintf("HTTP %d", e.Status)
	if e.Type != "" {
		s += " " + e.Type
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// errNoCredentials is the cause when the chain found no source at all.
var errNoCredentials = errors.New("awsiam: no credentials found")
