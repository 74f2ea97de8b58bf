//go:build windows

package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// openNoFollow opens path for appending without following a symbolic link
// or other reparse point (a junction) at the path. Windows has no
// O_NOFOLLOW: the path is checked before the open, and the open file is
// checked to be the one that was at the path, so a link swapped in between
// is caught too.
func openNoFollow(path string) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&(os.ModeSymlink|os.ModeIrregular) != 0 {
		return nil, errLogFileSymlink
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	opened, err := f.Stat()
	at, lerr := os.Lstat(path)
	if err != nil || lerr != nil || at.Mode()&(os.ModeSymlink|os.ModeIrregular) != 0 || !os.SameFile(opened, at) {
		f.Close()
		return nil, errLogFileSymlink
	}
	return f, nil
}

// checkLogFile checks the opened file: regular and owned by this user (or,
// in an elevated process, by the Administrators group, the default owner
// of what an elevated administrator creates). Who else may write it is a
// matter of its ACL, inherited from the directory; new files in the user's
// profile are the user's alone.
func checkLogFile(f *os.File, path string) *logFileProblem {
	if _, p := statRegular(f); p != nil {
		return p
	}
	sd, err := windows.GetSecurityInfo(windows.Handle(f.Fd()), windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return &logFileProblem{what: "cannot be checked: " + err.Error(), hint: "choose another file"}
	}
	owner, _, err := sd.Owner()
	if err != nil || owner == nil {
		return &logFileProblem{what: "cannot be checked (no owner)", hint: "choose another file"}
	}
	token := windows.GetCurrentProcessToken()
	user, err := token.GetTokenUser()
	if err != nil {
		return &logFileProblem{what: "cannot be checked: " + err.Error(), hint: "choose another file"}
	}
	if owner.Equals(user.User.Sid) || (token.IsElevated() && owner.IsWellKnown(windows.WinBuiltinAdministratorsSid)) {
		return nil
	}
	return &logFileProblem{
		what: fmt.Sprintf("is owned by another user (%s)", owner.String()),
		hint: fmt.Sprintf("give a path to a new file or one of your own, e.g. in %%LOCALAPPDATA%% (not %s)", path),
	}
}
