package risk

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/yagura-dev/yagura/internal/check/policy"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// PrivescActions are IAM actions known to let a principal raise its own privileges (after
// Rhino Security Labs' catalogue of IAM privilege escalation methods).
var PrivescActions = []string{
	"iam:PassRole", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:AttachUserPolicy",
	"iam:AttachGroupPolicy", "iam:AttachRolePolicy", "iam:PutUserPolicy", "iam:PutGroupPolicy", "iam:PutRolePolicy",
	"iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile", "iam:AddUserToGroup",
	"iam:UpdateAssumeRolePolicy", "lambda:UpdateFunctionCode", "glue:UpdateDevEndpoint",
}

// principal is a role or user with its policies parsed; the analysis asks what it may do through
// policy.Evaluate over its layers.
type principal struct {
	arn, account, name string
	user               bool
	docs               []namedDoc
	attached           []string
	groups             []string // user: group names
	boundary           string   // permissions boundary policy ARN, "" when none
	serviceLinked      bool
	trust              json.RawMessage

	// Resolved by Build.
	Admin         string   // the policy granting administrator access, "" when none (or taken away)
	Privesc       []string // "iam:PassRole via POLICY"
	TrustAnyone   bool
	TrustAccounts []string
	// layers are what AWS evaluates for the principal's requests: identity policies, the
	// permissions boundary, the SCPs of each level of the organization above the account.
	layers  []policy.Layer
	removed []Removal
}

// Removal is a permission the identity policies grant that an explicit deny, the permissions
// boundary or a service control policy takes away, with the one that does.
type Removal struct {
	What string `json:"what"`
	By   string `json:"removed_by"`
}

type namedDoc struct {
	name string
	doc  json.RawMessage
}

type inlinePolicy struct {
	PolicyName     string
	PolicyDocument json.RawMessage
}

func (b *Builder) addPrincipal(r *inventory.Resource) {
	var c struct {
		RoleName, UserName, Path string
		AssumeRolePolicyDocument json.RawMessage
		AttachedManagedPolicies  []struct{ PolicyArn string }
		RolePolicyList           []inlinePolicy
		UserPolicyList           []inlinePolicy
		GroupList                []string
		PermissionsBoundary      *struct{ PermissionsBoundaryArn string }
	}
	if json.Unmarshal(r.Config, &c) != nil {
		return
	}
	p := &principal{arn: r.ARN, account: r.AccountID, name: c.RoleName, trust: c.AssumeRolePolicyDocument,
		serviceLinked: strings.HasPrefix(c.Path, "/aws-service-role/")}
	inline := c.RolePolicyList
	if r.Type == TypeUser {
		p.user, p.name, p.groups, inline = true, c.UserName, c.GroupList, c.UserPolicyList
	}
	for _, ip := range inline {
		p.docs = append(p.docs, namedDoc{name: ip.PolicyName + " (inline)", doc: ip.PolicyDocument})
	}
	for _, ap := range c.AttachedManagedPolicies {
		p.attached = append(p.attached, ap.PolicyArn)
	}
	if c.PermissionsBoundary != nil {
		p.boundary = c.PermissionsBoundary.PermissionsBoundaryArn
	}
	b.g.roles[r.ARN] = p
	b.g.node(r.ARN)
}

// group holds a group's policies until its users are resolved.
type group struct {
	docs     []namedDoc
	attached []string
}

func (b *Builder) addGroup(r *inventory.Resource) {
	var c struct {
		GroupName               string
		AttachedManagedPolicies []struct{ PolicyArn string }
		GroupPolicyList         []inlinePolicy
	}
	if json.Unmarshal(r.Config, &c) != nil {
		return
	}
	gr := &group{}
	for _, ip := range c.GroupPolicyList {
		gr.docs = append(gr.docs, namedDoc{name: ip.PolicyName + " (inline, group " + c.GroupName + ")", doc: ip.PolicyDocument})
	}
	for _, ap := range c.AttachedManagedPolicies {
		gr.attached = append(gr.attached, ap.PolicyArn)
	}
	b.g.groups[key(r.AccountID, "", c.GroupName)] = gr
}

var accountID = regexp.MustCompile(`^\d{12}$`)

// adminDoc is AdministratorAccess's document, for an account where the policy is attached but
// its document was not collected: its name is its meaning.
var adminDoc = &policy.Document{Statement: []policy.Statement{{Effect: "Allow", Action: []string{"*"}, Resource: []string{"*"}}}}

// managed returns a managed policy's document, nil when it was not collected.
func (g *Graph) managed(arn string) *policy.Document {
	if d, ok := g.parsed[arn]; ok {
		return d
	}
	var d *policy.Document
	if raw, ok := g.policies[arn]; ok {
		d, _ = policy.Parse(raw)
	} else if strings.HasSuffix(arn, ":policy/AdministratorAccess") {
		d = adminDoc
	}
	g.parsed[arn] = d
	return d
}

func policyName(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

// resolve reads the principal's policies once the whole inventory is in, and subtracts what
// AWS subtracts: explicit denies, the permissions boundary, the SCPs (docs/risk.md).
func (ro *principal) resolve(g *Graph) {
	var docs []policy.Named
	addManaged := func(arns []string) {
		for _, a := range arns {
			if d := g.managed(a); d != nil {
				docs = append(docs, policy.Named{Name: policyName(a), Doc: d})
			}
		}
	}
	addInline := func(nds []namedDoc) {
		for _, nd := range nds {
			if d, err := policy.Parse(nd.doc); err == nil && d != nil {
				docs = append(docs, policy.Named{Name: nd.name, Doc: d})
			}
		}
	}
	addInline(ro.docs)
	addManaged(ro.attached)
	for _, gn := range ro.groups {
		if gr := g.groups[key(ro.account, "", gn)]; gr != nil {
			addInline(gr.docs)
			addManaged(gr.attached)
		}
	}
	ro.layers = []policy.Layer{{Kind: "identity policy", Policies: docs}}
	if ro.boundary != "" {
		// An uncollected boundary document bounds nothing we can see: the result stays an
		// upper bound (docs/risk.md).
		if d := g.managed(ro.boundary); d != nil {
			ro.layers = append(ro.layers, policy.Layer{Kind: "permissions boundary", Policies: []policy.Named{{Name: policyName(ro.boundary), Doc: d}}})
		}
	}
	if !ro.serviceLinked { // SCPs do not restrict service-linked roles
		ro.layers = append(ro.layers, g.scpLayers(ro.account)...)
	}
	adminGranted := false
	for _, nd := range docs {
		if len(nd.Doc.GrantsFullAdmin()) == 0 {
			continue
		}
		adminGranted = true
		// Administrator means control of the account's identities: all of IAM still allowed.
		if d := ro.eval("iam:*", "*"); d.Allowed {
			ro.Admin = nd.Name
		} else {
			ro.removed = append(ro.removed, Removal{What: "administrator (" + nd.Name + ")", By: d.RemovedBy})
		}
		break
	}
	for _, a := range PrivescActions {
		d := ro.eval(a, "*")
		if d.Allowed {
			ro.Privesc = append(ro.Privesc, a+" via "+d.AllowedBy)
		} else if d.RemovedBy != "" && !adminGranted { // a removed administrator says it once
			ro.removed = append(ro.removed, Removal{What: a, By: d.RemovedBy})
		}
	}
	if ro.user {
		return
	}
	// Trust: who may assume this role.
	if d, err := policy.Parse(ro.trust); err == nil && d != nil {
		seen := map[string]bool{}
		for _, s := range d.Statement {
			if !strings.EqualFold(s.Effect, "Allow") || !s.Allows("sts:AssumeRole") {
				continue
			}
			if s.Principal.IsWildcard() && len(s.Condition) == 0 {
				ro.TrustAnyone = true
			}
			for _, v := range s.Principal["AWS"] {
				acct := v
				if strings.HasPrefix(v, "arn:") {
					parts := strings.Split(v, ":")
					if len(parts) > 4 {
						acct = parts[4]
					}
					if strings.HasSuffix(v, ":root") {
						v = acct
					}
				}
				if !accountID.MatchString(acct) || acct == ro.account {
					continue
				}
				g.trustedBy[v] = append(g.trustedBy[v], ro.arn)
				if !seen[acct] {
					seen[acct] = true
					ro.TrustAccounts = append(ro.TrustAccounts, acct)
				}
			}
		}
	}
}

func (ro *principal) eval(action, resource string) policy.Decision {
	return policy.Evaluate(action, resource, ro.layers...)
}

// Removed lists what a role's (or user's) policies grant but a deny, its permissions boundary or
// an SCP takes away, each with the statement or policy that does.
func (g *Graph) Removed(arn string) []Removal {
	if ro := g.roles[arn]; ro != nil {
		g.RoleReach(arn) // reach evaluation records its own removals
		return ro.removed
	}
	return nil
}

// Reach is something an identity can get to.
type Reach struct {
	Kind        string `json:"kind"` // administrator | bucket | account
	ARN         string `json:"arn"`
	Name        string `json:"name"`
	Access      string `json:"access"` // full | read | write | read-write | assume
	Via         string `json:"via"`
	Sensitivity string `json:"sensitivity,omitempty"`
}

// sensitiveLevels rates data classification tag values.
var sensitiveLevels = map[string]float64{
	"restricted": 1, "pii": 1, "phi": 1, "pci": 1, "secret": 1, "top-secret": 1, "highly-confidential": 1,
	"confidential": 0.8, "sensitive": 0.8, "private": 0.5, "internal": 0.3, "public": 0,
}

// SensitivityLevel rates a classification value in [0,1]; unknown non-empty values count as 0.5.
func SensitivityLevel(v string) float64 {
	if v == "" {
		return 0
	}
	if l, ok := sensitiveLevels[strings.ToLower(v)]; ok {
		return l
	}
	return 0.5
}

// RoleReach lists what a role reaches: administrator of its account, the buckets of its account
// it can read or write, and roles of other accounts that trust it and that it may assume.
func (g *Graph) RoleReach(roleARN string) []Reach {
	if r, ok := g.reachOf[roleARN]; ok {
		return r
	}
	r := g.roleReach(roleARN)
	g.reachOf[roleARN] = r
	return r
}

func (g *Graph) roleReach(roleARN string) []Reach {
	ro := g.roles[roleARN]
	if ro == nil {
		return nil
	}
	var out []Reach
	if ro.Admin != "" {
		out = append(out, Reach{Kind: "administrator", ARN: "arn:aws:iam::" + ro.account + ":root", Name: "administrator of account " + ro.account, Access: "full", Via: ro.Admin})
	}
	for _, b := range g.buckets[ro.account] {
		n := g.Nodes[b]
		objects := n.ARN + "/*"
		r, w := ro.eval("s3:GetObject", objects), ro.eval("s3:PutObject", objects)
		if !w.Allowed && w.RemovedBy == "" {
			w = ro.eval("s3:DeleteObject", objects)
		}
		if r.Allowed || w.Allowed {
			access, via := "read", r.AllowedBy
			switch {
			case r.Allowed && w.Allowed:
				access = "read-write"
			case w.Allowed:
				access, via = "write", w.AllowedBy
			}
			out = append(out, Reach{Kind: "bucket", ARN: n.ARN, Name: n.Name, Access: access, Via: via, Sensitivity: n.Sensitivity})
		}
		if n.Sensitivity != "" { // evidence for classified data; the rest would drown it
			ro.noteRemoved("read bucket "+n.Name, r)
			ro.noteRemoved("write bucket "+n.Name, w)
		}
	}
	out = append(out, g.databaseReach(ro)...)
	seen := map[string]bool{}
	for _, k := range []string{ro.arn, ro.account} {
		for _, target := range g.trustedBy[k] {
			if seen[target] {
				continue
			}
			seen[target] = true
			d := ro.eval("sts:AssumeRole", target)
			ro.noteRemoved("assume "+target, d)
			if !d.Allowed {
				continue
			}
			acct := strings.Split(target, ":")[4]
			out = append(out, Reach{Kind: "account", ARN: target, Name: "account " + acct + " via " + target[strings.LastIndex(target, "/")+1:], Access: "assume", Via: "trust policy of " + target})
		}
	}
	return out
}

// noteRemoved records a grant that a deny, boundary or SCP took away.
func (ro *principal) noteRemoved(what string, d policy.Decision) {
	if !d.Allowed && d.RemovedBy != "" {
		ro.removed = append(ro.removed, Removal{What: what, By: d.RemovedBy})
	}
}

// Blast rates a role's (or user's) reach in [0,1] and says why in a few words.
func (g *Graph) Blast(roleARN string) (float64, string) {
	ro := g.roles[roleARN]
	if ro == nil {
		return 0, ""
	}
	who := "role " + ro.name
	if ro.user {
		who = "user " + ro.name
	}
	if ro.Admin != "" {
		return 1, who + " is administrator (" + ro.Admin + ")"
	}
	if len(ro.Privesc) > 0 {
		return 0.8, who + " can escalate privileges (" + ro.Privesc[0] + ")"
	}
	best, why := 0.1, who
	if len(ro.removed) > 0 && strings.HasPrefix(ro.removed[0].What, "administrator") {
		why = who + " (" + ro.removed[0].What + " taken away: " + ro.removed[0].By + ")"
	}
	for _, r := range g.RoleReach(roleARN) {
		v, verb := 0.0, "can "+r.Access
		switch r.Kind {
		case "account":
			v, verb = 0.7, "reaches"
		case "bucket", "database":
			v = 0.3
			if SensitivityLevel(r.Sensitivity) >= 0.5 {
				v = 0.6
			}
			verb += " " + r.Kind
		}
		if v > best {
			best, why = v, who+" "+verb+" "+r.Name
		}
	}
	return best, why
}

// identitiesOf lists the principals whose reach counts for a node: a role or user itself, else
// the roles the workload runs as.
func (g *Graph) identitiesOf(n NodeID) []string {
	if t := g.Nodes[n].Type; t == TypeRole || t == TypeUser {
		return []string{g.Nodes[n].ARN}
	}
	return g.RolesOf(n)
}

// RolesOf lists the roles a workload runs as: an instance's profile roles, a function's
// execution role, a cluster's role.
func (g *Graph) RolesOf(n NodeID) []string {
	if in := g.instances[n]; in != nil && in.profile != "" {
		if rs := g.profiles[in.profile]; len(rs) > 0 {
			return rs
		}
	}
	if f := g.functions[n]; f != nil && f.role != "" {
		return []string{f.role}
	}
	if c := g.clusters[n]; c != nil && c.role != "" {
		return []string{c.role}
	}
	// Fall back to relationships (profile -> role).
	var out []string
	for _, e := range g.out[n] {
		switch e.Kind {
		case EdgeHasProfile:
			for _, e2 := range g.out[e.To] {
				if e2.Kind == EdgeAssumesRole {
					out = append(out, g.Nodes[e2.To].ARN)
				}
			}
		case EdgeAssumesRole:
			out = append(out, g.Nodes[e.To].ARN)
		}
	}
	return out
}
