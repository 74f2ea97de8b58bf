package profile

import (
	"reflect"
	"testing"

	"github.com/spf13/pflag"
)

// The repeatable profile flags behave as pflag's StringArrayVar, whose
// default formatting they skip: the same values, String, Type, default
// text and SliceValue.
func TestStringArrayIsPflags(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"--scope", "a"},
		{"--scope", "a", "--scope=b,c", "--scope", `"q" x`},
		{"--scope", ""},
	} {
		var got, want []string
		mine := pflag.NewFlagSet("t", pflag.ContinueOnError)
		stringArrayVar(mine, &got, "scope", "")
		theirs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		theirs.StringArrayVar(&want, "scope", nil, "")
		if err := mine.Parse(args); err != nil {
			t.Fatal(err)
		}
		if err := theirs.Parse(args); err != nil {
			t.Fatal(err)
		}
		m, p := mine.Lookup("scope"), theirs.Lookup("scope")
		if !reflect.DeepEqual(got, want) || m.DefValue != p.DefValue || m.Value.String() != p.Value.String() ||
			m.Value.Type() != p.Value.Type() || m.Changed != p.Changed {
			t.Errorf("%q: %q %q %q %s %v, pflag's %q %q %q %s %v", args,
				got, m.DefValue, m.Value.String(), m.Value.Type(), m.Changed,
				want, p.DefValue, p.Value.String(), p.Value.Type(), p.Changed)
		}
		ms, ok := m.Value.(pflag.SliceValue)
		if !ok {
			t.Fatalf("not a pflag.SliceValue")
		}
		ps := p.Value.(pflag.SliceValue)
		if !reflect.DeepEqual(ms.GetSlice(), ps.GetSlice()) {
			t.Errorf("%q: GetSlice %q, pflag's %q", args, ms.GetSlice(), ps.GetSlice())
		}
		_ = ms.Append("z")
		_ = ps.Append("z")
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q: after Append %q, pflag's %q", args, got, want)
		}
		_ = ms.Replace([]string{"r", "s"})
		_ = ps.Replace([]string{"r", "s"})
		if !reflect.DeepEqual(got, want) || m.Value.String() != p.Value.String() {
			t.Errorf("%q: after Replace %q %q, pflag's %q %q", args, got, m.Value.String(), want, p.Value.String())
		}
	}
}
