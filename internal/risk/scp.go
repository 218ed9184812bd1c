package risk

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/yagura-dev/yagura/internal/check/policy"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// orgPolicies holds the organization's service control policies and where they are attached,
// so that each account's principals are evaluated under the SCPs of its root, OUs and itself.
type orgPolicies struct {
	scps []scp
	// master is the management account: SCPs never restrict it.
	master string
	// disabled is set when the organization reports the SCP policy type not enabled.
	disabled   bool
	accountOU  map[string]string   // account id -> OU path "Root/Workloads/Prod"
	accountIDs map[string][]string // account id -> the same path as ids, root first
	layers     map[string][]policy.Layer
}

type scp struct {
	name    string
	doc     *policy.Document
	targets []scpTarget
}

type scpTarget struct{ kind, id, name string }

func (b *Builder) addSCP(r *inventory.Resource) {
	var c struct {
		Name, Type string
		Content    json.RawMessage
		Targets    []struct{ TargetId, Name, Type string }
	}
	if json.Unmarshal(r.Config, &c) != nil || (c.Type != "" && c.Type != "SERVICE_CONTROL_POLICY") {
		return
	}
	doc, err := policy.Parse(c.Content)
	if err != nil || doc == nil || len(c.Content) == 0 || string(c.Content) == "null" {
		return // unread content (Errors["Content"]): restricts nothing we can show
	}
	p := scp{name: c.Name, doc: doc}
	for _, t := range c.Targets {
		p.targets = append(p.targets, scpTarget{kind: t.Type, id: t.TargetId, name: t.Name})
	}
	if p.name == "" {
		p.name = r.Name
	}
	b.g.org.scps = append(b.g.org.scps, p)
}

func (b *Builder) addOrganization(r *inventory.Resource) {
	var c struct {
		MasterAccountId    string
		EnabledPolicyTypes *[]string
	}
	if json.Unmarshal(r.Config, &c) != nil {
		return
	}
	b.g.org.master = c.MasterAccountId
	if c.EnabledPolicyTypes != nil {
		b.g.org.disabled = true
		for _, t := range *c.EnabledPolicyTypes {
			if t == "SERVICE_CONTROL_POLICY" {
				b.g.org.disabled = false
			}
		}
	}
}

// AddAccount records an account's OU path ("Root/Workloads/Prod", names from the root down, as
// the scan stores it) and, when known, the same path as ids (root first), so that SCPs attached
// to its OUs apply to its principals. Call it before Build.
func (b *Builder) AddAccount(id, ouPath string, ouIDs ...string) {
	b.g.org.accountOU[id] = ouPath
	if len(ouIDs) > 0 {
		if b.g.org.accountIDs == nil {
			b.g.org.accountIDs = map[string][]string{}
		}
		b.g.org.accountIDs[id] = ouIDs
	}
}

// scpLayers lists the SCP layers over an account, root first: one per level (root, each OU on
// its path, the account) that has SCPs attached. AWS requires an Allow at every level and
// honours a Deny at any. A level with no SCP known (an OU of an account whose path was not
// recorded) is left out: what it would restrict is not known, so the answer stays an upper bound.
func (g *Graph) scpLayers(account string) []policy.Layer {
	o := &g.org
	if len(o.scps) == 0 || o.disabled || account == o.master {
		return nil
	}
	if ls, ok := o.layers[account]; ok {
		return ls
	}
	level := func(where string, match func(scpTarget) bool) {
		l := policy.Layer{Kind: "SCP", Where: where}
		for _, p := range o.scps {
			for _, t := range p.targets {
				if match(t) {
					l.Policies = append(l.Policies, policy.Named{Name: p.name, Doc: p.doc})
					break
				}
			}
		}
		if len(l.Policies) > 0 {
			o.layers[account] = append(o.layers[account], l)
		}
	}
	level("attached to the root", func(t scpTarget) bool { return t.kind == "ROOT" })
	if path := o.accountOU[account]; path != "" {
		names, ids := strings.Split(path, "/")[1:], o.accountIDs[account]
		for i, ou := range names {
			// An OU is matched by id when the scan recorded the path's ids (two OUs may share a
			// name); databases from before ids were stored fall back to the name (docs/risk.md).
			match := func(t scpTarget) bool { return t.kind == "ORGANIZATIONAL_UNIT" && t.name == ou }
			if len(ids) == len(names)+1 {
				id := ids[i+1]
				match = func(t scpTarget) bool { return t.kind == "ORGANIZATIONAL_UNIT" && t.id == id }
			}
			level(fmt.Sprintf("attached to OU %s", ou), match)
		}
	}
	level("attached to account "+account, func(t scpTarget) bool { return t.kind == "ACCOUNT" && t.id == account })
	if _, ok := o.layers[account]; !ok {
		o.layers[account] = nil
	}
	return o.layers[account]
}

// databaseReach lists the account's RDS instances a principal can get into: rds-db:connect
// (IAM database authentication) or rds:ModifyDBInstance, which resets the master password.
func (g *Graph) databaseReach(ro *principal) []Reach {
	var out []Reach
	for _, id := range g.dbsOf[ro.account] {
		n, d := g.Nodes[id], g.dbs[id]
		var dec policy.Decision
		access := "control"
		if d.iamAuth && d.resourceID != "" {
			dec = ro.eval("rds-db:connect", fmt.Sprintf("%s:rds-db:%s:%s:dbuser:%s/*", arnPrefix(n.ARN), n.Region, n.Account, d.resourceID))
			access = "connect"
		}
		if !dec.Allowed {
			if m := ro.eval("rds:ModifyDBInstance", n.ARN); m.Allowed || dec.RemovedBy == "" {
				dec, access = m, "control (reset the master password)"
			}
		}
		if dec.Allowed {
			out = append(out, Reach{Kind: "database", ARN: n.ARN, Name: n.Name, Access: access, Via: dec.AllowedBy, Sensitivity: n.Sensitivity})
		} else if n.Sensitivity != "" {
			ro.noteRemoved("access database "+n.Name, dec)
		}
	}
	return out
}
