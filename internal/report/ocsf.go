package report

import (
	"encoding/json"
	"io"
	"strings"

	"github.com/yagura-dev/yagura/internal/finding"
)

// FormatOCSF, FormatASFF and FormatSARIF are the finding interchange formats.
const (
	FormatOCSF  = "ocsf"
	FormatASFF  = "asff"
	FormatSARIF = "sarif"
)

// OCSFVersion is the OCSF schema version the Compliance Finding objects follow.
const OCSFVersion = "1.1.0"

// ocsfSeverity maps severities to OCSF severity_id (1 Informational … 5 Critical).
func ocsfSeverity(s finding.Severity) (int, string) {
	names := []string{"Informational", "Low", "Medium", "High", "Critical"}
	if int(s) < 0 || int(s) >= len(names) {
		return 0, "Unknown"
	}
	return int(s) + 1, names[s]
}

// OCSFFinding converts a finding into an OCSF Compliance Finding (class_uid 2003) object.
func OCSFFinding(f *finding.Finding) map[string]any {
	sevID, sev := ocsfSeverity(f.Severity)
	// Finding status: New / In Progress / Suppressed / Resolved.
	statusID, status := 1, "New"
	switch {
	case f.Muted:
		statusID, status = 3, "Suppressed"
	case f.Lifecycle == finding.LifecycleResolved:
		statusID, status = 4, "Resolved"
	case f.Lifecycle == finding.LifecycleOpen:
		statusID, status = 2, "In Progress"
	}
	// Compliance status: Pass 1, Fail 3, Other 99 for results whose input could not be read.
	compID, comp := 99, "Error"
	switch f.Status {
	case finding.Pass:
		compID, comp = 1, "Pass"
	case finding.Fail:
		compID, comp = 3, "Fail"
	}
	var standards []string
	for _, c := range f.Controls {
		if fw, _, ok := strings.Cut(c, ":"); ok && !contains(standards, fw) {
			standards = append(standards, fw)
		}
	}
	control := ""
	if len(f.Controls) > 0 {
		control = f.Controls[0]
	}
	partition := "aws"
	if p := strings.SplitN(f.ResourceARN, ":", 3); len(p) == 3 && p[1] != "" {
		partition = p[1]
	}
	o := map[string]any{
		"activity_id":   1,
		"activity_name": "Create",
		"category_uid":  2,
		"category_name": "Findings",
		"class_uid":     2003,
		"class_name":    "Compliance Finding",
		"type_uid":      200301,
		"type_name":     "Compliance Finding: Create",
		"severity_id":   sevID,
		"severity":      sev,
		"status_id":     statusID,
		"status":        status,
		"time":          f.LastSeen.UnixMilli(),
		"message":       f.Detail,
		"metadata": map[string]any{
			"version": OCSFVersion,
			"product": map[string]any{"name": "yagura", "vendor_name": "yagura", "feature": map[string]any{"name": f.Source}},
			"uid":     f.ID,
		},
		"finding_info": map[string]any{
			"uid": f.ID, "title": f.Title, "desc": f.Detail,
			"first_seen_time": f.FirstSeen.UnixMilli(), "last_seen_time": f.LastSeen.UnixMilli(),
			"types": []string{f.CheckID}, "product_uid": f.Source,
		},
		"compliance": map[string]any{
			"status_id": compID, "status": comp, "control": control,
			"requirements": f.Controls, "standards": standards,
		},
		"resources": []map[string]any{{
			"uid": f.ResourceARN, "type": f.ResourceType, "region": f.Region, "cloud_partition": partition,
			"owner": map[string]any{"account": map[string]any{"uid": f.AccountID, "type": "AWS Account", "type_id": 10}},
		}},
		"cloud": map[string]any{"provider": "AWS", "region": f.Region, "account": map[string]any{"uid": f.AccountID, "type": "AWS Account", "type_id": 10}},
	}
	if f.Remediation != "" {
		o["remediation"] = map[string]any{"desc": f.Remediation}
	}
	unmapped := map[string]any{"check_id": f.CheckID, "lifecycle": f.Lifecycle}
	if len(f.Evidence) > 0 {
		unmapped["evidence"] = json.RawMessage(f.Evidence)
	}
	if f.Muted || f.MuteReason != "" {
		unmapped["muted"], unmapped["mute_reason"] = f.Muted, f.MuteReason
	}
	if f.Stale {
		unmapped["stale_reason"] = f.StaleReason
	}
	if f.Risk != nil {
		unmapped["risk"] = f.Risk
		o["risk_score"] = int(f.Risk.Score)
	}
	o["unmapped"] = unmapped
	return o
}

// OCSF writes findings as a JSON array of OCSF Compliance Finding objects.
func OCSF(w io.Writer, fs []*finding.Finding) error {
	out := make([]map[string]any, 0, len(fs))
	for _, f := range fs {
		out = append(out, OCSFFinding(f))
	}
	return JSON(w, out)
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
