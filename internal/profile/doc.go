// Package profile is agw-proxy's configuration model: a profile names a
// Gateway, how to authenticate to it, which tool arguments to fill from
// which stored secrets, and the time limits. A profile comes from the config
// file (YAML, every value remembered with its file:line:col), from the
// profile flags, or both (flags win over the file). Each command takes the
// groups of profile flags it uses (AddFlags) and documents just those
// (FlagsUsage).
//
// Resolve finds the file and the profile, applies the flags, fills defaults
// and validates, returning every problem at once as *Error values located
// where the user can fix them. What an auth type requires is not known
// here: the caller passes one AuthType per auth.type value (the command's
// auth methods). The model knows the type names only, and which one the
// other auth settings imply when auth.type is not set (none only when
// there are none).
//
//	fs := pflag.NewFlagSet("status", pflag.ContinueOnError)
//	flags := profile.AddFlags(fs, profile.AllFlags)
//	_ = fs.Parse(args)
//	p, err := flags.Resolve(profile.Env{Getenv: os.Getenv, ConfigDir: os.UserConfigDir}, types)
//	if err != nil { ... } // errors.Join of *profile.Error
//	fmt.Println(p.Command("login", "asana")) // the exact command for this profile
package profile
