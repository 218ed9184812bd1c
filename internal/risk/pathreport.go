package risk

import (
	"context"
	"fmt"
	"strings"

	"github.com/yagura-dev/yagura/internal/store"
)

// ErrNoResource is returned by PathReport when the scan holds no resource by that reference.
type ErrNoResource struct {
	Ref    string
	ScanID int64
}

func (e *ErrNoResource) Error() string {
	return fmt.Sprintf("no resource %q in scan %d", e.Ref, e.ScanID)
}

// PathReport is `yagura path` and the dashboard's path page: how a resource (an ARN, or an id or
// name that ends one) is reached from the internet, what it can reach, and the attack paths
// through it, in one scan.
func PathReport(ctx context.Context, db *store.DB, scanID int64, ref string) (Report, error) {
	g, fails, env, err := Load(ctx, db, scanID)
	if err != nil {
		return Report{}, err
	}
	id, ok := g.Find(ref)
	if !ok {
		return Report{}, &ErrNoResource{Ref: ref, ScanID: scanID}
	}
	a := Analyze(g, fails, env, DefaultWeights)
	rep := a.Describe(id)
	for _, f := range fails {
		if f.CheckID == CheckAttackPath && (f.ResourceARN == rep.Resource || strings.Contains(string(f.Evidence), `"`+rep.Resource+`"`)) {
			rep.AttackPaths = append(rep.AttackPaths, f.ID+" "+f.Title)
		}
	}
	return rep, nil
}

// ShortRef shows the last part of an ARN (the resource id or name) where a whole ARN is too long
// to read: `yagura top` paths, the dashboard's graph boxes.
func ShortRef(arn string) string {
	if i := strings.LastIndexAny(arn, "/:"); i >= 0 && i < len(arn)-1 {
		return arn[i+1:]
	}
	return arn
}
