package check

import (
	"fmt"
	"slices"
	"strings"
)

// Entry is a catalog entry as listings show it: `yagura checks list --format json` and the
// dashboard's checks pages and API.
type Entry struct {
	*Check
	Scope string `json:"scope"`
}

// ValidateFramework accepts "" (every framework) and the prefixes of Frameworks.
func ValidateFramework(fw string) error {
	if fw == "" || slices.Contains(Frameworks, fw) {
		return nil
	}
	return fmt.Errorf("unknown framework %q (known: %s)", fw, strings.Join(Frameworks, ", "))
}

// Catalog lists the checks, of one framework when fw is not empty, sorted by ID.
func Catalog(fw string) ([]Entry, error) {
	if err := ValidateFramework(fw); err != nil {
		return nil, err
	}
	cs := All()
	if fw != "" {
		cs = Framework(fw)
	}
	out := make([]Entry, 0, len(cs))
	for _, c := range cs {
		out = append(out, Entry{c, c.ScopeName()})
	}
	return out, nil
}
