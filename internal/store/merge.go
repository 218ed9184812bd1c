package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"slices"

	"github.com/yagura-dev/yagura/internal/finding"
)

// originsKey is the evidence key (native.EvidenceOrigins) that lists where a finding was
// reported from, e.g. the Access Analyzer analyzers that found it. The store cannot import
// internal/native (native imports collectors), so the key is repeated here.
const originsKey = "origins"

// relayedBy is the source that relays other services' findings (native.SourceSecurityHub).
const relayedBy = "securityhub"

// mergeCopy returns what to store when f is a second copy of a finding already stored in this
// scan. Normally f's description wins (for a Security Hub control merged with yagura's check,
// the check's, stored last). But a copy that Security Hub relayed (source guardduty, inspector2,
// accessanalyzer with securityhub among its sources) does not replace a copy read from the
// service directly, whichever task finished last: the direct copy is the richer one (principals
// and actions, packages, the IAM path of the resource ARN, the collector whose success may
// resolve it). Either way the origins of both copies are united.
func mergeCopy(ctx context.Context, tx *sql.Tx, f *finding.Finding, prevSources []string) (*finding.Finding, error) {
	var evidence, checkID, title, detail, remediation, arn, rtype, region, account, collector sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT evidence, check_id, title, detail, remediation, resource_arn, resource_type, region,
		account_id, collector FROM findings WHERE id = ?`, f.ID).
		Scan(&evidence, &checkID, &title, &detail, &remediation, &arn, &rtype, &region, &account, &collector); err != nil {
		return nil, err
	}
	g := *f
	if f.Source != relayedBy && slices.Contains(f.Sources, relayedBy) && !slices.Contains(prevSources, relayedBy) {
		g.CheckID, g.Title, g.Detail, g.Remediation = checkID.String, title.String, detail.String, remediation.String
		g.ResourceARN, g.ResourceType, g.Region, g.AccountID, g.Collector = arn.String, rtype.String, region.String, account.String, collector.String
		g.Evidence = json.RawMessage(mergeOrigins(string(f.Evidence), evidence.String))
		return &g, nil
	}
	g.Evidence = json.RawMessage(mergeOrigins(evidence.String, string(f.Evidence)))
	if hasKey(string(f.Evidence), unmatchedKey) && !hasKey(evidence.String, unmatchedKey) && arn.String != "" {
		// This copy could not name its resource by the inventory's ARN (a failed lookup, a
		// relay that names it otherwise); the earlier copy could: keep its resource.
		g.ResourceARN, g.ResourceType = arn.String, rtype.String
		g.Evidence = json.RawMessage(dropKey(string(g.Evidence), unmatchedKey))
	}
	return &g, nil
}

// unmatchedKey is the evidence key (native.EvidenceUnmatched) of a finding whose resource_arn is
// the source's own identifier, not an inventory ARN.
const unmatchedKey = "unmatchedResource"

func hasKey(evidence, key string) bool {
	return bytes.Contains([]byte(evidence), []byte(`"`+key+`"`))
}

// dropKey removes one top-level key from a JSON object; anything else is returned as it is.
func dropKey(evidence, key string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(evidence), &m) != nil || m == nil {
		return evidence
	}
	delete(m, key)
	out, err := json.Marshal(m)
	if err != nil {
		return evidence
	}
	return string(out)
}

// mergeOrigins returns the evidence next with the origins of the evidence prev added, so that a
// finding merged from an organization analyzer and an account analyzer names both. Evidence
// that is not a JSON object, or has no origins, is left as it is.
func mergeOrigins(prev, next string) string {
	if !hasKey(prev, originsKey) {
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
