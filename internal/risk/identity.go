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

type grant struct {
	patterns []string // resource patterns ("*" = all)
	via      string   // policy name
}

type role struct {
	arn, account, name string
	docs               []namedDoc
	attached           []string
	trust              json.RawMessage

	// Resolved by Build.
	Admin         string   // the policy granting administrator access, "" when none
	Privesc       []string // "iam:PassRole via POLICY"
	reads, writes []grant
	assume        []grant
	TrustAnyone   bool
	TrustAccounts []string
}

type namedDoc struct {
	name string
	doc  json.RawMessage
}

func (b *Builder) addRole(r *inventory.Resource) {
	var c struct {
		RoleName                 string
		AssumeRolePolicyDocument json.RawMessage
		AttachedManagedPolicies  []struct{ PolicyName, PolicyArn string }
		RolePolicyList           []struct {
			PolicyName     string
			PolicyDocument json.RawMessage
		}
	}
	if json.Unmarshal(r.Config, &c) != nil {
		return
	}
	ro := &role{arn: r.ARN, account: r.AccountID, name: c.RoleName, trust: c.AssumeRolePolicyDocument}
	for _, p := range c.RolePolicyList {
		ro.docs = append(ro.docs, namedDoc{name: p.PolicyName + " (inline)", doc: p.PolicyDocument})
	}
	for _, p := range c.AttachedManagedPolicies {
		ro.attached = append(ro.attached, p.PolicyArn)
	}
	b.g.roles[r.ARN] = ro
	b.g.node(r.ARN)
}

var accountID = regexp.MustCompile(`^\d{12}$`)

// resolve reads the role's policies once the whole inventory is in. Deny statements,
// permission boundaries and SCPs are not subtracted: the result is what the role's own
// policies allow, an upper bound (docs/risk.md).
func (ro *role) resolve(g *Graph) {
	for _, a := range ro.attached {
		name := a[strings.LastIndex(a, "/")+1:]
		if doc, ok := g.policies[a]; ok {
			ro.docs = append(ro.docs, namedDoc{name: name, doc: doc})
		} else if strings.HasSuffix(a, ":policy/AdministratorAccess") {
			// An AWS-managed policy whose document was not collected: its name is its meaning.
			ro.Admin = name
		}
	}
	privSeen := map[string]bool{}
	for _, nd := range ro.docs {
		d, err := policy.Parse(nd.doc)
		if err != nil || d == nil {
			continue
		}
		if ro.Admin == "" && len(d.GrantsFullAdmin()) > 0 {
			ro.Admin = nd.name
		}
		for _, s := range d.Statement {
			if !strings.EqualFold(s.Effect, "Allow") {
				continue
			}
			res := s.Resource
			if len(s.NotResource) > 0 || len(res) == 0 {
				res = []string{"*"}
			}
			g := grant{patterns: res, via: nd.name}
			if allows(s, "s3:GetObject") {
				ro.reads = append(ro.reads, g)
			}
			if allows(s, "s3:PutObject") || allows(s, "s3:DeleteObject") {
				ro.writes = append(ro.writes, g)
			}
			if allows(s, "sts:AssumeRole") {
				ro.assume = append(ro.assume, g)
			}
			for _, a := range PrivescActions {
				if !privSeen[a] && allows(s, a) {
					privSeen[a] = true
					ro.Privesc = append(ro.Privesc, a+" via "+nd.name)
				}
			}
		}
	}
	if ro.Admin != "" {
		all := grant{patterns: []string{"*"}, via: ro.Admin}
		ro.reads, ro.writes, ro.assume = append(ro.reads, all), append(ro.writes, all), append(ro.assume, all)
	}
	// Trust: who may assume this role.
	if d, err := policy.Parse(ro.trust); err == nil && d != nil {
		seen := map[string]bool{}
		for _, s := range d.Statement {
			if !strings.EqualFold(s.Effect, "Allow") || !allows(s, "sts:AssumeRole") {
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

func allows(s policy.Statement, action string) bool {
	if len(s.NotAction) > 0 {
		for _, p := range s.NotAction {
			if policy.MatchAction(p, action) {
				return false
			}
		}
		return true
	}
	for _, p := range s.Action {
		if policy.MatchAction(p, action) {
			return true
		}
	}
	return false
}

// globMatch matches an IAM resource pattern (* and ?) case-sensitively, as IAM does for ARNs.
func globMatch(pattern, s string) bool {
	if pattern == "*" {
		return true
	}
	px, sx := 0, 0
	nextP, nextS := -1, -1
	for sx < len(s) {
		if px < len(pattern) {
			switch pattern[px] {
			case '*':
				nextP, nextS = px, sx+1
				px++
				continue
			case '?':
				px++
				sx++
				continue
			default:
				if pattern[px] == s[sx] {
					px++
					sx++
					continue
				}
			}
		}
		if nextP >= 0 {
			px, sx = nextP+1, nextS
			nextS++
			continue
		}
		return false
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}

// grantCovers reports whether a grant covers a bucket's objects (or the bucket itself).
func grantCovers(gs []grant, bucketARN string) string {
	for _, g := range gs {
		for _, p := range g.patterns {
			if globMatch(p, bucketARN+"/*") || globMatch(p, bucketARN+"/x") || globMatch(p, bucketARN) {
				return g.via
			}
		}
	}
	return ""
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
		r, w := grantCovers(ro.reads, n.ARN), grantCovers(ro.writes, n.ARN)
		if r == "" && w == "" {
			continue
		}
		access, via := "read", r
		switch {
		case r != "" && w != "":
			access = "read-write"
		case w != "":
			access, via = "write", w
		}
		out = append(out, Reach{Kind: "bucket", ARN: n.ARN, Name: n.Name, Access: access, Via: via, Sensitivity: n.Sensitivity})
	}
	if len(ro.assume) > 0 {
		seen := map[string]bool{}
		for _, k := range []string{ro.arn, ro.account} {
			for _, target := range g.trustedBy[k] {
				if seen[target] || grantCovers(ro.assume, target) == "" && !assumeCovers(ro.assume, target) {
					continue
				}
				seen[target] = true
				acct := strings.Split(target, ":")[4]
				out = append(out, Reach{Kind: "account", ARN: target, Name: "account " + acct + " via " + target[strings.LastIndex(target, "/")+1:], Access: "assume", Via: "trust policy of " + target})
			}
		}
	}
	return out
}

func assumeCovers(gs []grant, roleARN string) bool {
	for _, g := range gs {
		for _, p := range g.patterns {
			if globMatch(p, roleARN) {
				return true
			}
		}
	}
	return false
}

// Blast rates a role's reach in [0,1] and says why in a few words.
func (g *Graph) Blast(roleARN string) (float64, string) {
	ro := g.roles[roleARN]
	if ro == nil {
		return 0, ""
	}
	if ro.Admin != "" {
		return 1, "role " + ro.name + " is administrator (" + ro.Admin + ")"
	}
	if len(ro.Privesc) > 0 {
		return 0.8, "role " + ro.name + " can escalate privileges (" + ro.Privesc[0] + ")"
	}
	best, why := 0.1, "role "+ro.name
	for _, r := range g.RoleReach(roleARN) {
		switch r.Kind {
		case "account":
			if best < 0.7 {
				best, why = 0.7, "role "+ro.name+" reaches "+r.Name
			}
		case "bucket":
			v := 0.3
			if SensitivityLevel(r.Sensitivity) >= 0.5 {
				v = 0.6
			}
			if v > best {
				best, why = v, "role "+ro.name+" can "+r.Access+" bucket "+r.Name
			}
		}
	}
	return best, why
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
