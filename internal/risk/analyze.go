package risk

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/yagura-dev/yagura/internal/finding"
)

// CheckAttackPath is the check id of attack-path findings.
const CheckAttackPath = "risk.attack_path"

// Collector is the task name attack-path findings carry, so that a later scan that no longer
// finds a path resolves it (the risk hook records this task's coverage).
const Collector = "risk.attack-paths"

// HighEPSS is the EPSS probability from which a vulnerability counts as exploitable on its own.
const HighEPSS = 0.1

// MaxPathsPerWorkload bounds the attack paths reported from one workload.
const MaxPathsPerWorkload = 20

// Analysis joins the graph, its exposure and the scan's findings.
type Analysis struct {
	G       *Graph
	X       *Exposures
	Weights Weights
	// AccountEnv maps account id to its Environment tag.
	AccountEnv map[string]string

	byResource map[string][]*finding.Finding
	cache      map[NodeID]*nodeFactors
}

type nodeFactors struct {
	exposure, blast, data float64
	exposureWhy, blastWhy string
	dataWhy               string
	path                  []string
}

// Analyze runs the exposure analysis and indexes the failed findings by resource.
func Analyze(g *Graph, findings []*finding.Finding, accountEnv map[string]string, w Weights) *Analysis {
	a := &Analysis{G: g, X: g.AnalyzeExposure(), Weights: w, AccountEnv: accountEnv,
		byResource: map[string][]*finding.Finding{}, cache: map[NodeID]*nodeFactors{}}
	for _, f := range findings {
		if f.Status == finding.Fail && f.CheckID != CheckAttackPath {
			a.byResource[f.ResourceARN] = append(a.byResource[f.ResourceARN], f)
		}
	}
	return a
}

// Weakness is something an attacker can use on a reachable workload.
type Weakness struct {
	What           string   `json:"what"`
	Exploitability float64  `json:"exploitability"`
	Findings       []string `json:"findings,omitempty"`
}

// Weaknesses lists the exploitable weaknesses of a workload, strongest first.
func (a *Analysis) Weaknesses(n NodeID) []Weakness {
	node := a.G.Nodes[n]
	var out []Weakness
	var imdsFindings []string
	for _, f := range a.byResource[node.ARN] {
		if strings.Contains(strings.ToLower(f.CheckID), "imds") {
			imdsFindings = append(imdsFindings, f.ID)
			continue
		}
		e, why := Exploitability(f)
		vuln := hasSource(f, "inspector2") || strings.Contains(string(f.Evidence), "\"Vulnerabilities\"")
		if (vuln && e >= HighEPSS) || hasSource(f, "guardduty") {
			out = append(out, Weakness{What: fmt.Sprintf("%s (%s, %s)", f.Title, f.Severity, why), Exploitability: e, Findings: []string{f.ID}})
		}
	}
	if in := a.G.instances[n]; in != nil && in.imdsv1 && a.X.Exposed(n) {
		out = append(out, Weakness{What: "IMDSv1 (HttpTokens optional) on an internet-reachable instance: a request forgery reads the role's credentials",
			Exploitability: 0.6, Findings: imdsFindings})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Exploitability > out[j].Exploitability })
	return out
}

// pathEvidence is the Evidence of an attack-path finding.
type pathEvidence struct {
	Chain           []Hop      `json:"chain"`
	Exposure        Exposure   `json:"exposure"`
	Weaknesses      []Weakness `json:"weaknesses"`
	Role            string     `json:"role"`
	Target          Reach      `json:"target"`
	RelatedFindings []string   `json:"related_findings"`
	Exploitability  float64    `json:"exploitability"`
	Weakness        string     `json:"weakness"`
}

// AttackPaths walks internet → exploitable workload → its role → what the role reaches, one
// finding per (workload, role, target).
func (a *Analysis) AttackPaths() []*finding.Finding {
	var ids []NodeID
	for id := range a.X.Reachable {
		if a.G.instances[id] != nil || a.G.functions[id] != nil {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return a.G.Nodes[ids[i]].ARN < a.G.Nodes[ids[j]].ARN })
	var out []*finding.Finding
	for _, id := range ids {
		ws := a.Weaknesses(id)
		if len(ws) == 0 {
			continue
		}
		n := a.G.Nodes[id]
		ex := a.X.Reachable[id][0]
		var related []string
		var whats []string
		for _, w := range ws {
			related = append(related, w.Findings...)
			whats = append(whats, w.What)
		}
		count := 0
		for _, roleARN := range a.G.RolesOf(id) {
			for _, r := range a.G.RoleReach(roleARN) {
				if (r.Kind == "bucket" || r.Kind == "database") && SensitivityLevel(r.Sensitivity) < 0.5 {
					continue
				}
				if count == MaxPathsPerWorkload {
					break
				}
				count++
				out = append(out, a.pathFinding(n, ex, ws, whats, related, roleARN, r))
			}
		}
	}
	return append(out, a.databasePaths()...)
}

// OpenDatabaseExploitability rates a database endpoint the internet reaches: nothing is broken
// yet, but only its credentials (guessable, reused, leaked) stand between anyone and the data.
const OpenDatabaseExploitability = 0.3

// databasePaths are the shortest paths: a publicly accessible database holding classified data
// (at least private) that the internet reaches on its port is a data end node on its own.
func (a *Analysis) databasePaths() []*finding.Finding {
	var ids []NodeID
	for id := range a.X.Reachable {
		if a.G.dbs[id] != nil && SensitivityLevel(a.G.Nodes[id].Sensitivity) >= 0.5 {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return a.G.Nodes[ids[i]].ARN < a.G.Nodes[ids[j]].ARN })
	var out []*finding.Finding
	for _, id := range ids {
		n, ex := a.G.Nodes[id], a.X.Reachable[id][0]
		ws := append(a.Weaknesses(id), Weakness{What: fmt.Sprintf("publicly accessible database endpoint reachable from %s on %s: only its credentials protect the data",
			srcText(ex.Source), ex.Ports()), Exploitability: OpenDatabaseExploitability})
		sort.SliceStable(ws, func(i, j int) bool { return ws[i].Exploitability > ws[j].Exploitability })
		var related, whats []string
		for _, w := range ws {
			related = append(related, w.Findings...)
			whats = append(whats, w.What)
		}
		r := Reach{Kind: "database", ARN: n.ARN, Name: n.Name, Access: "network access to the endpoint", Via: "PubliclyAccessible", Sensitivity: n.Sensitivity}
		out = append(out, a.pathFinding(n, ex, ws, whats, related, "", r))
	}
	return out
}

func (a *Analysis) pathFinding(n Node, ex Exposure, ws []Weakness, whats, related []string, roleARN string, r Reach) *finding.Finding {
	chain := append([]Hop{}, ex.Hops...)
	if roleARN != "" {
		chain = append(chain, Hop{ARN: roleARN, Type: TypeRole, Via: "credentials of the workload (" + ws[0].What + ")"})
	} else {
		chain = chain[:len(chain)-1] // the exposed resource is the end itself
	}
	typ := TypeBucket
	switch r.Kind {
	case "administrator":
		typ = TypeAdminTarget
	case "account":
		typ = TypeAccountReach
	case "database":
		typ = TypeDB
	}
	chain = append(chain, Hop{ARN: r.ARN, Type: typ, Via: r.Access + " via " + r.Via})
	sev := finding.High
	strong := ws[0].Exploitability >= 0.6
	if strong && (r.Kind == "administrator" || r.Kind == "account" || SensitivityLevel(r.Sensitivity) >= 0.8) {
		sev = finding.Critical
	}
	target := r.Name
	if r.Sensitivity != "" {
		target += " (" + r.Sensitivity + ")"
	}
	ev := pathEvidence{Chain: chain, Exposure: ex, Weaknesses: ws, Role: roleARN, Target: r, RelatedFindings: related,
		Exploitability: ws[0].Exploitability, Weakness: ws[0].What}
	raw, _ := json.Marshal(ev)
	name := n.Name
	if name == "" {
		name = ShortRef(n.ARN)
	}
	title := fmt.Sprintf("Attack path: internet → %s (%s, %s) → role %s → %s", name, ex.Ports(), ex.Through, ShortRef(roleARN), target)
	detail := fmt.Sprintf("%s is reachable from the internet on %s (%s). Weaknesses: %s. It runs as role %s, which has %s access to %s (%s).",
		name, ex.Ports(), ex.Through, strings.Join(whats, "; "), roleARN, r.Access, target, r.Via)
	if roleARN == "" {
		title = fmt.Sprintf("Attack path: internet → %s (%s, %s) → %s data", name, ex.Ports(), ex.Through, r.Sensitivity)
		detail = fmt.Sprintf("%s holds %s data and is reachable from the internet on %s (%s). Weaknesses: %s.",
			name, r.Sensitivity, ex.Ports(), ex.Through, strings.Join(whats, "; "))
	}
	return &finding.Finding{
		ID:      finding.StableID(CheckAttackPath, n.ARN, roleARN, r.ARN),
		CheckID: CheckAttackPath, Source: "yagura", Sources: []string{"yagura"},
		Status: finding.Fail, Severity: sev, AccountID: n.Account, Region: n.Region,
		ResourceARN: n.ARN, ResourceType: n.Type,
		Title: title, Detail: detail,
		Evidence:    raw,
		Remediation: "Break the chain at its cheapest link: remove the internet exposure, fix the weakness (patch, require IMDSv2), or reduce the role's permissions.",
		Collector:   Collector + "|" + n.Account + "|global",
	}
}

func (a *Analysis) factors(n NodeID) *nodeFactors {
	if nf := a.cache[n]; nf != nil {
		return nf
	}
	g := a.G
	nf := &nodeFactors{}
	node := g.Nodes[n]
	if es := a.X.Reachable[n]; len(es) > 0 {
		e := es[0]
		nf.exposure = map[string]float64{"direct": 1, "public-bucket": 1, "function-url": 0.9, "public-endpoint": 0.9, "load-balancer": 0.8}[e.Through]
		nf.exposureWhy = fmt.Sprintf("internet-exposed on %s (%s)", e.Ports(), e.Through)
		if !e.Anyone() {
			// Reachable only from some internet addresses: half the exposure of an open door.
			nf.exposure /= 2
			nf.exposureWhy = fmt.Sprintf("reachable from %s on %s (%s)", e.Source, e.Ports(), e.Through)
		}
		for _, h := range e.Hops {
			nf.path = append(nf.path, h.ARN)
		}
	} else if ro := g.roles[node.ARN]; ro != nil && ro.TrustAnyone {
		nf.exposure, nf.exposureWhy = 1, "its trust policy lets anyone assume it"
		nf.path = []string{"internet", node.ARN}
	} else if node.Type == TypeSG {
		// A group's problem matters as much as the most exposed resource using it.
		for _, e := range g.in[n] {
			if e.Kind == EdgeUsesSG && a.X.Exposed(e.To) {
				sub := a.factors(e.To)
				if sub.exposure > nf.exposure {
					nf.exposure, nf.exposureWhy, nf.path = sub.exposure, "used by "+ShortRef(g.Nodes[e.To].ARN)+", "+sub.exposureWhy, sub.path
				}
			}
		}
	}
	roles := g.identitiesOf(n)
	for _, r := range roles {
		if b, why := g.Blast(r); b > nf.blast {
			nf.blast, nf.blastWhy = b, why
		}
		for _, re := range g.RoleReach(r) {
			// Data only reachable through the role counts half: the finding itself is not the
			// path to it (the attack-path finding is, and counts it fully).
			if l := SensitivityLevel(re.Sensitivity) / 2; l > nf.data {
				nf.data, nf.dataWhy = l, fmt.Sprintf("%s reaches %s data (%s)", ShortRef(r), re.Sensitivity, re.Name)
			}
		}
	}
	if len(roles) > 0 {
		nf.path = append(nf.path, roles[0])
	}
	if l := SensitivityLevel(node.Sensitivity); l >= nf.data && l > 0 {
		nf.data, nf.dataWhy = l, node.Sensitivity+" data"
	}
	a.cache[n] = nf
	return nf
}

// Score computes a finding's risk.
func (a *Analysis) Score(f *finding.Finding) *finding.Risk {
	sev := part{FSeverity, SeverityFactor(f.Severity), f.Severity.String() + " severity"}
	e, why := Exploitability(f)
	parts := []part{sev, {FExploitability, e, why}}
	env := a.AccountEnv[f.AccountID]
	var nf *nodeFactors
	if id, ok := a.G.Lookup(f.ResourceARN); ok {
		nf = a.factors(id)
		if v := a.G.Nodes[id].Env; v != "" {
			env = v
		}
	} else {
		nf = &nodeFactors{}
	}
	data, dataWhy, path := nf.data, nf.dataWhy, nf.path
	if f.CheckID == CheckAttackPath {
		var ev pathEvidence
		if json.Unmarshal(f.Evidence, &ev) == nil {
			if l := SensitivityLevel(ev.Target.Sensitivity); l > 0 {
				data, dataWhy = l, ev.Target.Sensitivity+" data at the end of the path"
			} else if ev.Target.Kind == "administrator" || ev.Target.Kind == "account" {
				data, dataWhy = 0.7, "ends with control of "+ev.Target.Name
			}
			path = nil
			for _, h := range ev.Chain {
				path = append(path, h.ARN)
			}
		}
	}
	envWhy := ""
	if env != "" {
		envWhy = env + " environment"
	}
	parts = append(parts,
		part{FExposure, nf.exposure, nf.exposureWhy},
		part{FBlastRadius, nf.blast, nf.blastWhy},
		part{FEnvironment, EnvironmentFactor(env), envWhy},
		part{FData, data, dataWhy})
	return compose(a.Weights, parts, path)
}

// Report says how one resource is reached from the internet and what it can reach.
type Report struct {
	Resource    string     `json:"resource"`
	Type        string     `json:"type"`
	Account     string     `json:"account_id"`
	Region      string     `json:"region"`
	Exposed     bool       `json:"exposed"`
	Exposures   []Exposure `json:"exposures,omitempty"`
	Blocked     []Blocked  `json:"blocked,omitempty"`
	Weaknesses  []Weakness `json:"weaknesses,omitempty"`
	Roles       []RoleView `json:"roles,omitempty"`
	AttackPaths []string   `json:"attack_paths,omitempty"`
}

// RoleView is a role (or user) and what it reaches.
type RoleView struct {
	ARN           string   `json:"arn"`
	Admin         string   `json:"administrator_via,omitempty"`
	Privesc       []string `json:"privilege_escalation,omitempty"`
	TrustAnyone   bool     `json:"trusted_by_anyone,omitempty"`
	TrustAccounts []string `json:"trusted_accounts,omitempty"`
	Reaches       []Reach  `json:"reaches,omitempty"`
	// Removed lists what its policies grant but a deny, its permissions boundary or an SCP takes
	// away, naming which.
	Removed []Removal `json:"removed,omitempty"`
}

// Describe builds the report of one node.
func (a *Analysis) Describe(n NodeID) Report {
	node := a.G.Nodes[n]
	r := Report{Resource: node.ARN, Type: node.Type, Account: node.Account, Region: node.Region,
		Exposed: a.X.Exposed(n), Exposures: a.X.Reachable[n], Blocked: a.X.Blocked[n], Weaknesses: a.Weaknesses(n)}
	for _, ra := range a.G.identitiesOf(n) {
		v := RoleView{ARN: ra, Reaches: a.G.RoleReach(ra), Removed: a.G.Removed(ra)}
		if ro := a.G.roles[ra]; ro != nil {
			v.Admin, v.Privesc, v.TrustAnyone, v.TrustAccounts = ro.Admin, ro.Privesc, ro.TrustAnyone, ro.TrustAccounts
		}
		r.Roles = append(r.Roles, v)
	}
	return r
}
