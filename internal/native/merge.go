package native

import (
	"sync/atomic"

	"github.com/yagura-dev/yagura/internal/finding"
)

// Deduplication. The same problem reported by two sources must be one finding with both in
// Sources. The store's finding writer merges findings put with the same id in one scan (sources
// united, the worse status and higher severity win), so deduplication here is a matter of
// giving both copies the same id:
//   - GuardDuty and Inspector findings read through Security Hub already take the id their own
//     collectors give them (see FromASFF);
//   - a Security Hub control finding takes the id of the yagura check finding for the same
//     control and resource, StableID("yagura", checkID, resourceARN), whenever yagura's catalog
//     has a check for that control and resource type (ControlIndex.Adopt). The id then does not
//     depend on whether the check ran in a given scan, so it stays stable across scans.

// ControlCheck is a yagura check that implements a control for one resource type.
type ControlCheck struct {
	CheckID      string
	ResourceType string
	// Scope is "" for checks of a resource, "account" or "region" for checks of an account's or
	// an account-region's settings, whose findings carry the subject ARN UnitARN(partition,
	// account, region) gives (region "global" for the account) instead of a resource's ARN.
	Scope   string
	UnitARN func(partition, account, region string) string
}

// ControlIndex maps a control id (fsbp:EC2.19) to the yagura checks that implement it.
type ControlIndex map[string][]ControlCheck

// Add records that check implements controls on resourceType.
func (ix ControlIndex) Add(checkID, resourceType string, controls []string) {
	ix.AddCheck(ControlCheck{CheckID: checkID, ResourceType: resourceType}, controls)
}

// AddCheck records that c implements controls.
func (ix ControlIndex) AddCheck(c ControlCheck, controls []string) {
	for _, control := range controls {
		ix[control] = append(ix[control], c)
	}
}

// Adopt gives a Security Hub control finding the identity of the yagura check finding for the
// same control and resource, and reports whether it did. Only a check of the finding's own
// resource type qualifies: a control can be implemented by several checks (per bucket and per
// account), and merging across resource types would merge different problems. A control that
// Security Hub reports on the account (ASFF AwsAccount) matches a yagura check of the account
// or account-region, and takes that check's unit ARN and resource type.
func (ix ControlIndex) Adopt(f *finding.Finding) bool {
	if f.Source != SourceSecurityHub || f.ResourceARN == "" {
		return false
	}
	account := f.ResourceType == "AWS::::Account"
	for _, control := range f.Controls {
		for _, c := range ix[control] {
			if account && c.Scope != "" && c.UnitARN != nil {
				// Security Hub reports account-level controls on the account; yagura on its
				// account (or account-region) unit.
				region := f.Region
				if c.Scope == "account" {
					region = "global"
				}
				f.ResourceARN = c.UnitARN(partitionOf(f.SourceID), f.AccountID, region)
				f.ResourceType = c.ResourceType
				f.ID = finding.StableID(SourceYagura, c.CheckID, f.ResourceARN)
				f.CheckID = c.CheckID
				return true
			}
			if c.ResourceType == f.ResourceType {
				f.ID = finding.StableID(SourceYagura, c.CheckID, f.ResourceARN)
				f.CheckID = c.CheckID
				return true
			}
		}
	}
	return false
}

// current is the index the Security Hub collector consults; the CLI installs the check catalog's
// index before a scan (UseControlIndex). Without one, control findings keep their own ids.
var current atomic.Pointer[ControlIndex]

// UseControlIndex installs the index AdoptControl uses.
func UseControlIndex(ix ControlIndex) { current.Store(&ix) }

// AdoptControl applies the installed index to f (see ControlIndex.Adopt).
func AdoptControl(f *finding.Finding) bool {
	ix := current.Load()
	return ix != nil && ix.Adopt(f)
}
