package store

import (
	"bytes"
	"encoding/json"
)

// originsKey is the evidence key (native.EvidenceOrigins) that lists where a finding was
// reported from, e.g. the Access Analyzer analyzers that found it. The store cannot import
// internal/native (native imports collectors), so the key is repeated here.
const originsKey = "origins"

// mergeOrigins returns the evidence of a finding's later copy in a scan with the origins of the
// earlier copy added, so that a finding merged from an organization analyzer and an account
// analyzer names both. Evidence that is not a JSON object, or has no origins, is left as it is.
func mergeOrigins(prev, next string) string {
	if !bytes.Contains([]byte(prev), []byte(`"`+originsKey+`"`)) {
		return next
	}
	var p, n map[string]json.RawMessage
	if json.Unmarshal([]byte(prev), &p) != nil || json.Unmarshal([]byte(next), &n) != nil || n == nil {
		return next
	}
	var po, no []string
	if json.Unmarshal(p[originsKey], &po) != nil || len(po) == 0 {
		return next
	}
	_ = json.Unmarshal(n[originsKey], &no)
	merged, _ := json.Marshal(union(po, no))
	n[originsKey] = merged
	out, err := json.Marshal(n)
	if err != nil {
		return next
	}
	return string(out)
}
