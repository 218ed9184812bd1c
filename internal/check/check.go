// Package check holds yagura's posture-check catalog (metadata, control mappings, remediation)
// and the engine that evaluates it over a scan's inventory into PASS / FAIL / ERROR findings.
//
// A check is one catalog entry plus one evaluation function. Adding a check means adding a
// Register call in the file of its service and a case in that file's table-driven test.
package check

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/yagura-dev/yagura/internal/finding"
)

// Scope says what one result of a check is about.
type Scope int

const (
	// PerResource checks yield one result per resource of ResourceType.
	PerResource Scope = iota
	// PerRegion checks yield one result per account × region (e.g. GuardDuty enabled).
	PerRegion
	// PerAccount checks yield one result per account (e.g. password policy, multi-region trail).
	PerAccount
)

// Remediation says how to fix a failing result.
type Remediation struct {
	CLI     string `json:"cli,omitempty"`
	Console string `json:"console,omitempty"`
	Doc     string `json:"doc,omitempty"`
}

// Text renders the remediation as one block for findings and exports.
func (r Remediation) Text() string {
	var parts []string
	if r.Console != "" {
		parts = append(parts, "Console: "+r.Console)
	}
	if r.CLI != "" {
		parts = append(parts, "CLI: "+r.CLI)
	}
	if r.Doc != "" {
		parts = append(parts, "Docs: "+r.Doc)
	}
	return strings.Join(parts, "\n")
}

// Check is one catalog entry.
type Check struct {
	ID          string           `json:"id"`
	Title       string           `json:"title"`
	Description string           `json:"description"`
	Severity    finding.Severity `json:"severity"`
	// ResourceType is the type evaluated (PerResource) or reported on (the synthetic
	// account-level type for PerRegion/PerAccount checks).
	ResourceType string      `json:"resource_type"`
	Scope        Scope       `json:"-"`
	Controls     []string    `json:"controls"`
	Risk         string      `json:"risk"`
	Remediation  Remediation `json:"remediation"`
	// Inputs are the other resource types the evaluation reads (loaded and indexed before
	// evaluation). For PerRegion/PerAccount checks the first input names the collector whose
	// coverage decides the unit's ERROR and the finding's Collector.
	Inputs []string `json:"inputs,omitempty"`
	// Subject, for PerRegion/PerAccount checks, is the ARN template of what a result is about,
	// with {partition}, {account} and {region}: usually the synthetic ARN of the setting the
	// collector writes. Every result of the check (PASS, FAIL or ERROR) carries it, so a
	// finding keeps its id when its input becomes unreadable. Default: the account or
	// account-region ARN of UnitARN.
	Subject string `json:"-"`
	// Needs lists Config attributes whose read failure (Resource.Errors) makes the result ERROR.
	Needs []string `json:"-"`

	Eval      func(e *Env, r *Res) Result `json:"-"` // PerResource
	EvalScope func(e *Env, u Unit) Result `json:"-"` // PerRegion / PerAccount

	remText string // Remediation.Text(), computed once at registration
}

// ScopeName is the scope for listings.
func (c *Check) ScopeName() string {
	return [...]string{"resource", "region", "account"}[c.Scope]
}

// Unit is the account (and region) a PerRegion/PerAccount check is evaluated for.
type Unit struct {
	Partition string
	Account   string
	Region    string // "global" for PerAccount
}

// Result is the outcome of one evaluation. The zero Status means "not applicable": no finding.
type Result struct {
	Status   finding.Status
	Detail   string
	Evidence any
	// ARN and Type override the subject of the finding (account-level checks name the
	// synthetic resource they read).
	ARN, Type string
}

// Pass, Fail, Errorf and NA build results.
func Pass(detail string, ev any) Result {
	return Result{Status: finding.Pass, Detail: detail, Evidence: ev}
}

// Fail is a failing result with its evidence.
func Fail(detail string, ev any) Result {
	return Result{Status: finding.Fail, Detail: detail, Evidence: ev}
}

// Errorf is a result whose input could not be read.
func Errorf(format string, a ...any) Result {
	return Result{Status: finding.Error, Detail: fmt.Sprintf(format, a...)}
}

// NA means the check does not apply to this resource (e.g. AWS-managed KMS keys for rotation).
func NA() Result { return Result{} }

var (
	regMu    sync.Mutex
	registry = map[string]*Check{}
)

// Register adds a check to the catalog; service files call it from init. Duplicate IDs panic,
// as they are a programming error.
func Register(c *Check) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[c.ID]; dup {
		panic("check: duplicate id " + c.ID)
	}
	if (c.Scope == PerResource) != (c.Eval != nil) || (c.Scope != PerResource) != (c.EvalScope != nil) {
		panic("check: " + c.ID + ": evaluation function does not match scope")
	}
	if c.Scope != PerResource && len(c.Inputs) == 0 {
		panic("check: " + c.ID + ": account-level check without inputs")
	}
	c.remText = c.Remediation.Text()
	registry[c.ID] = c
}

// All returns the catalog sorted by ID.
func All() []*Check {
	regMu.Lock()
	defer regMu.Unlock()
	out := make([]*Check, 0, len(registry))
	for _, c := range registry {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ByID returns one check.
func ByID(id string) *Check {
	regMu.Lock()
	defer regMu.Unlock()
	return registry[id]
}

// Framework returns the checks that map to a framework (e.g. "fsbp", "cis-aws-3.0").
func Framework(fw string) []*Check {
	var out []*Check
	for _, c := range All() {
		for _, ctl := range c.Controls {
			if strings.HasPrefix(ctl, fw+":") {
				out = append(out, c)
				break
			}
		}
	}
	return out
}
