package check

import (
	"context"

	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/store"
)

// MemorySource is an in-memory Source, for tests and benchmarks. Gen, when set, generates the
// resources of a type on demand instead of holding them, so a million-resource inventory needs
// no million-resource slice.
type MemorySource struct {
	Cov       []store.Coverage
	Resources []*inventory.Resource
	Gen       func(typ string, fn func(*inventory.Resource) error) error
}

// Coverage implements Source.
func (m *MemorySource) Coverage(context.Context) ([]store.Coverage, error) { return m.Cov, nil }

// Each implements Source.
func (m *MemorySource) Each(ctx context.Context, types []string, fn func(*inventory.Resource) error) error {
	for _, t := range types {
		for _, r := range m.Resources {
			if r.Type == t {
				if err := fn(r); err != nil {
					return err
				}
			}
		}
		if m.Gen != nil {
			if err := m.Gen(t, fn); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}
