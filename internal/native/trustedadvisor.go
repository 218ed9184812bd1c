package native

import (
	"strconv"
	"strings"

	"github.com/yagura-dev/yagura/internal/finding"
)

// The AWS Go SDK's Support client is not available to this module, so the Trusted Advisor
// records are declared here in the Support API's wire shape (AWS JSON 1.1, camelCase members).

// TACheck is one entry of DescribeTrustedAdvisorChecks.
type TACheck struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Category    string   `json:"category"`
	Metadata    []string `json:"metadata"`
}

// TAFlaggedResource is one resource a check flagged.
type TAFlaggedResource struct {
	Status       string   `json:"status"`
	Region       string   `json:"region,omitempty"`
	ResourceID   string   `json:"resourceId"`
	IsSuppressed bool     `json:"isSuppressed,omitempty"`
	Metadata     []string `json:"metadata"`
}

// TACheckResult is the result of DescribeTrustedAdvisorCheckResult.
type TACheckResult struct {
	CheckID          string              `json:"checkId"`
	Timestamp        string              `json:"timestamp"`
	Status           string              `json:"status"`
	FlaggedResources []TAFlaggedResource `json:"flaggedResources"`
}

// FromTrustedAdvisor normalizes one flagged resource of a Trusted Advisor check in account.
// Red ("error") is high, yellow ("warning") medium; "ok" rows PASS. Trusted Advisor names
// resources by an opaque hash, not an ARN: the check's metadata columns (which usually hold the
// resource's name, region and the reason) go into the evidence, and an ARN is kept only when a
// column holds one.
func FromTrustedAdvisor(account string, c *TACheck, r *TAFlaggedResource) *finding.Finding {
	sourceID := account + "/" + c.ID + "/" + r.ResourceID
	out := &finding.Finding{
		ID:        finding.StableID(SourceTrustedAdvisor, sourceID),
		Source:    SourceTrustedAdvisor,
		Sources:   []string{SourceTrustedAdvisor},
		SourceID:  sourceID,
		CheckID:   c.ID,
		Status:    finding.Fail,
		Severity:  finding.Medium,
		AccountID: account,
		Region:    firstNonEmpty(r.Region, "global"),
		Title:     "Trusted Advisor: " + c.Name,
		Detail:    stripHTML(c.Description),
	}
	switch strings.ToLower(r.Status) {
	case "error":
		out.Severity = finding.High
	case "ok":
		out.Status = finding.Pass
		out.Severity = finding.Informational
	}
	if r.IsSuppressed {
		out.Muted, out.MuteReason = true, "excluded in Trusted Advisor"
	}
	cols := map[string]string{}
	for i, v := range r.Metadata {
		name := "column" + strconv.Itoa(i)
		if i < len(c.Metadata) {
			name = c.Metadata[i]
		}
		cols[name] = v
		if strings.HasPrefix(v, "arn:") && out.ResourceARN == "" {
			out.ResourceARN = InventoryARN(v)
		}
	}
	out.Evidence = evidence(map[string]any{"checkId": c.ID, "checkName": c.Name, "category": c.Category,
		"status": r.Status, "resourceId": r.ResourceID, "metadata": cols})
	return out
}

// stripHTML removes the tags Trusted Advisor puts in check descriptions.
func stripHTML(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
			b.WriteByte(' ') // <br> separates words
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
