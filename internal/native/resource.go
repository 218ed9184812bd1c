package native

import (
	"encoding/json"

	"github.com/yagura-dev/yagura/internal/finding"
)

// Resource matching. A native finding joins the inventory (`yagura findings --resource ARN`, the
// risk engine's graph) only when its resource_arn is exactly the ARN the inventory's collector
// writes (docs/resource-types). The normalizers build that ARN wherever the source's identifier
// allows it; a collector may resolve more with a read call (Config's configuration items, IAM's
// user and role paths). What stays unmatched keeps the source's own identifier in resource_arn,
// so that it can still be searched for, and says so in the evidence under EvidenceUnmatched.

// EvidenceUnmatched is the evidence key of a finding whose resource_arn is the source's own
// identifier, not an inventory ARN; its value says why.
const EvidenceUnmatched = "unmatchedResource"

// MarkUnmatched records that f's resource could not be named by its inventory ARN: resource_arn
// becomes nativeID (when it has nothing better) and the evidence says why.
func MarkUnmatched(f *finding.Finding, nativeID, reason string) {
	if f.ResourceARN == "" {
		f.ResourceARN = nativeID
	}
	setEvidence(f, EvidenceUnmatched, reason)
}

// Unmatched returns why f's resource is not an inventory ARN, or "" when it is one.
func Unmatched(f *finding.Finding) string {
	var ev map[string]json.RawMessage
	if json.Unmarshal(f.Evidence, &ev) != nil {
		return ""
	}
	var reason string
	_ = json.Unmarshal(ev[EvidenceUnmatched], &reason)
	return reason
}

// Matched gives f the inventory ARN a collector resolved and removes the unmatched mark.
func Matched(f *finding.Finding, arn string) {
	f.ResourceARN = InventoryARN(arn)
	setEvidence(f, EvidenceUnmatched, nil)
}

// setEvidence sets (or, with nil, deletes) one top-level key of f's evidence object.
func setEvidence(f *finding.Finding, key string, v any) {
	ev := map[string]json.RawMessage{}
	if len(f.Evidence) > 0 {
		if err := json.Unmarshal(f.Evidence, &ev); err != nil || ev == nil {
			ev = map[string]json.RawMessage{}
		}
	}
	if v == nil {
		delete(ev, key)
	} else {
		b, err := json.Marshal(v)
		if err != nil {
			return
		}
		ev[key] = b
	}
	f.Evidence = evidence(ev)
}
