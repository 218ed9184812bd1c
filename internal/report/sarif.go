package report

import (
	"io"
	"strings"

	"github.com/yagura-dev/yagura/internal/finding"
)

// SARIF writes findings as one SARIF 2.1.0 run: one rule per check, one result per finding,
// located at the resource ARN (a logical location, as there is no source file).
func SARIF(w io.Writer, fs []*finding.Finding, toolVersion string) error {
	type rule struct {
		idx int
		obj map[string]any
	}
	rules := map[string]*rule{}
	var order []string
	var results []map[string]any
	for _, f := range fs {
		id := f.CheckID
		if id == "" {
			id = f.Source + "/" + f.Title
		}
		r, ok := rules[id]
		if !ok {
			props := map[string]any{"tags": append([]string{"security"}, f.Controls...), "security-severity": securitySeverity(f.Severity)}
			obj := map[string]any{
				"id": id, "name": ruleName(id),
				"shortDescription":     map[string]any{"text": f.Title},
				"fullDescription":      map[string]any{"text": f.Title},
				"defaultConfiguration": map[string]any{"level": sarifLevel(f)},
				"properties":           props,
			}
			if f.Remediation != "" {
				obj["help"] = map[string]any{"text": f.Remediation}
				if i := strings.Index(f.Remediation, "https://"); i >= 0 {
					u := f.Remediation[i:]
					if j := strings.IndexAny(u, " \n"); j >= 0 {
						u = u[:j]
					}
					obj["helpUri"] = u
				}
			}
			r = &rule{idx: len(order), obj: obj}
			rules[id] = r
			order = append(order, id)
		}
		kind := "fail"
		switch f.Status {
		case finding.Pass:
			kind = "pass"
		case finding.Error:
			kind = "review"
		}
		res := map[string]any{
			"ruleId": id, "ruleIndex": r.idx, "kind": kind, "level": sarifLevel(f),
			"message": map[string]any{"text": f.Detail},
			"locations": []map[string]any{{"logicalLocations": []map[string]any{{
				"name": f.ResourceARN, "fullyQualifiedName": f.ResourceARN, "kind": "resource",
			}}}},
			"partialFingerprints": map[string]string{"yaguraFindingId/v1": f.ID},
			"properties": map[string]any{
				"account": f.AccountID, "region": f.Region, "resourceType": f.ResourceType, "controls": f.Controls,
				"status": f.Status, "severity": f.Severity.String(), "lifecycle": f.Lifecycle, "source": f.Source,
			},
		}
		if f.Muted {
			res["suppressions"] = []map[string]any{{"kind": "external", "status": "accepted", "justification": f.MuteReason}}
		}
		results = append(results, res)
	}
	ruleList := make([]map[string]any, len(order))
	for i, id := range order {
		ruleList[i] = rules[id].obj
	}
	if results == nil {
		results = []map[string]any{}
	}
	doc := map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []map[string]any{{
			"tool": map[string]any{"driver": map[string]any{
				"name": "yagura", "version": toolVersion, "informationUri": "https://github.com/yagura-dev/yagura", "rules": ruleList,
			}},
			"results": results,
		}},
	}
	return JSON(w, doc)
}

// sarifLevel: failures by severity; passes are "none"; unreadable input is a warning to review.
func sarifLevel(f *finding.Finding) string {
	switch f.Status {
	case finding.Pass:
		return "none"
	case finding.Error:
		return "warning"
	}
	switch {
	case f.Severity >= finding.High:
		return "error"
	case f.Severity >= finding.Medium:
		return "warning"
	}
	return "note"
}

// securitySeverity is the numeric score code-scanning tools sort by.
func securitySeverity(s finding.Severity) string {
	return [...]string{"0.0", "3.0", "5.0", "7.5", "9.5"}[min(max(int(s), 0), 4)]
}

func ruleName(id string) string {
	parts := strings.FieldsFunc(id, func(r rune) bool { return r == '.' || r == '_' || r == '/' })
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "")
}
