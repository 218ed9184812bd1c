package main

import (
	"os"
	"strings"
	"testing"

	"github.com/yagura-dev/yagura/internal/auditrole"
)

// The committed StackSet template must grant exactly what the compiled-in collectors call:
// regenerate it with `go run ./cmd/yagura role-policy --format cloudformation > deploy/yagura-audit-role.yaml`.
func TestCommittedAuditRoleTemplateMatchesCollectors(t *testing.T) {
	got, err := os.ReadFile("../../deploy/yagura-audit-role.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != auditrole.CloudFormation() {
		t.Fatal("deploy/yagura-audit-role.yaml is out of date with the collectors' actions; regenerate it")
	}
	for _, a := range auditrole.Actions() {
		if !strings.Contains(string(got), "- "+a+"\n") {
			t.Errorf("template misses %s", a)
		}
		for _, verb := range []string{":Create", ":Delete", ":Put", ":Update", ":Attach", ":Modify", ":Start", ":Stop"} {
			if strings.Contains(a, verb) {
				t.Errorf("audit role grants a write action %s", a)
			}
		}
	}
}
