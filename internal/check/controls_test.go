package check

import (
	"strings"
	"testing"
)

// TestCISCoverage requires every automated CIS v3.0.0 recommendation to be implemented, and
// every control a check names to exist in the benchmark.
func TestCISCoverage(t *testing.T) {
	auto, impl := 0, 0
	for _, c := range Coverage("cis-aws-3.0") {
		if !c.Automated {
			continue
		}
		auto++
		if c.Implemented {
			impl++
		} else {
			t.Errorf("%s (%s) is not implemented", c.ID, c.Title)
		}
	}
	if auto != 54 || impl != 54 {
		t.Fatalf("automated %d, implemented %d; want 54/54", auto, impl)
	}
	known := map[string]bool{}
	for _, c := range cisV3 {
		known["cis-aws-3.0:"+c.ID] = true
	}
	for _, c := range All() {
		for _, ctl := range c.Controls {
			if strings.HasPrefix(ctl, "cis-aws-3.0:") && !known[ctl] {
				t.Errorf("check %s maps to unknown control %s", c.ID, ctl)
			}
		}
	}
}

func TestFSBPCount(t *testing.T) {
	n := len(Coverage("fsbp"))
	t.Logf("fsbp controls implemented: %d; checks in catalog: %d", n, len(All()))
	if n < 100 {
		t.Errorf("only %d FSBP controls implemented, want >= 100", n)
	}
}

// TestCatalogComplete makes sure every entry carries what users and exports need.
func TestCatalogComplete(t *testing.T) {
	for _, c := range All() {
		if c.Title == "" || c.Risk == "" || c.ResourceType == "" || (c.Remediation.CLI == "" && c.Remediation.Console == "") || c.Remediation.Doc == "" {
			t.Errorf("%s: incomplete catalog entry", c.ID)
		}
		if !strings.Contains(c.ID, ".") {
			t.Errorf("%s: id should be service.name", c.ID)
		}
	}
}

// TestFSBPControlsVerified: every fsbp: control a check claims is one whose ID and title were
// checked against Security Hub's control reference (fsbpControls), and coverage shows its title.
func TestFSBPControlsVerified(t *testing.T) {
	for _, c := range All() {
		for _, ctl := range c.Controls {
			id, ok := strings.CutPrefix(ctl, "fsbp:")
			if ok && fsbpControls[id].Title == "" {
				t.Errorf("%s claims %s, which is not in the verified list", c.ID, ctl)
			}
		}
	}
	inStandard := 0
	for _, cc := range Coverage("fsbp") {
		if cc.Title == "" || !cc.Implemented || len(cc.Checks) == 0 {
			t.Errorf("coverage row %+v", cc)
		}
		if cc.Outside == "" {
			inStandard++
		}
	}
	// The Lambda scanning controls were once swapped: Inspector.3 is code scanning.
	for _, cc := range Coverage("fsbp") {
		if cc.ID == "fsbp:Inspector.3" && (len(cc.Checks) != 1 || cc.Checks[0] != "inspector.lambda_code_scanning") {
			t.Errorf("Inspector.3 implemented by %v", cc.Checks)
		}
	}
	t.Logf("%d fsbp controls, %d of them in the FSBP standard itself", len(Coverage("fsbp")), inStandard)
}
