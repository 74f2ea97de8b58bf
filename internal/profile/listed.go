package profile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/agw-proxy/agw-proxy/internal/textdist"
)

// maxListed is how many names a hint lists: a file of 5,000 profiles must
// not print them all.
const maxListed = 5

// someNames lists names for a hint: the one nearest to want first when
// want looks like a typo of it, then the others in order, at most maxListed,
// and "and N more" for the rest.
func someNames(names []string, want string) string {
	list := names
	if near := textdist.Nearest(want, names); near != "" {
		list = append([]string{near}, slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == near })...)
	}
	if len(list) <= maxListed {
		return strings.Join(list, ", ")
	}
	return strings.Join(list[:maxListed], ", ") + fmt.Sprintf(", and %d more", len(list)-maxListed)
}
