package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/risk"
	"github.com/yagura-dev/yagura/internal/store"
)

// The risk pages: the ranked queue of `yagura top` (store.RiskQueue), one ranked item with its
// factors and path, and the exposure report of `yagura path` (risk.PathReport), each drawn as
// a graph.

// riskQueue is the queue page's data.
type riskQueue struct {
	Total  int64                 `json:"total"`
	Limit  int                   `json:"limit"`
	Offset int                   `json:"offset"`
	Items  []store.RankedFinding `json:"items"`
}

func (s *Server) loadRiskQueue(r *http.Request) (*riskQueue, error) {
	q := r.URL.Query()
	f, err := parseFindingQuery(url.Values{"account": q["account"], "limit": q["limit"], "offset": q["offset"]})
	if err != nil {
		return nil, err
	}
	items, err := s.db.RiskQueue(r.Context(), f.Accounts, f.Limit, f.Offset)
	if err != nil {
		return nil, err
	}
	total, err := s.db.CountFindings(r.Context(), store.RiskQueueFilter(f.Accounts, 0, 0))
	if err != nil {
		return nil, err
	}
	fs := make([]*finding.Finding, len(items))
	for i := range items {
		fs[i] = items[i].Finding
	}
	if err := s.db.ApplyMutes(r.Context(), fs, time.Now()); err != nil {
		return nil, err
	}
	if items == nil {
		items = []store.RankedFinding{}
	}
	return &riskQueue{Total: total, Limit: f.Limit, Offset: f.Offset, Items: items}, nil
}

// riskRow is one queue entry as the page shows it.
type riskRow struct {
	store.RankedFinding
	Factors []factorView
	Path    string
}

// factorView is one factor of a score: its value in [0,1], its weight, and the points it adds.
type factorView struct {
	Name          string
	Value, Weight float64
	Points        float64
	BarW          int // width of the bar in the factor chart, 0-120
}

// factorsOf lists a score's factors, largest contribution first. The points are the factor's
// share of the score: the score is the weighted mean of the factors (docs/risk.md).
func factorsOf(r *finding.Risk) []factorView {
	if r == nil {
		return nil
	}
	w := risk.DefaultWeights
	weights := map[string]float64{risk.FSeverity: w.Severity, risk.FExploitability: w.Exploitability, risk.FExposure: w.Exposure,
		risk.FBlastRadius: w.BlastRadius, risk.FEnvironment: w.Environment, risk.FData: w.Data}
	total := 0.0
	for name := range r.Factors {
		total += weights[name]
	}
	var out []factorView
	for name, v := range r.Factors {
		fv := factorView{Name: name, Value: v, Weight: weights[name], BarW: int(min(max(v, 0), 1) * 120)}
		if total > 0 {
			fv.Points = float64(int(weights[name]*v/total*1000+0.5)) / 10
		}
		out = append(out, fv)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Points != out[j].Points {
			return out[i].Points > out[j].Points
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func (s *Server) risks(r *http.Request) (string, map[string]any, error) {
	rq, err := s.loadRiskQueue(r)
	if err != nil {
		return "", nil, err
	}
	rows := make([]riskRow, len(rq.Items))
	for i, it := range rq.Items {
		rows[i] = riskRow{RankedFinding: it, Factors: factorsOf(it.Risk)}
		if it.Risk != nil {
			short := make([]string, len(it.Risk.Path))
			for j, p := range it.Risk.Path {
				short[j] = shortRef(p)
			}
			rows[i].Path = strings.Join(short, " → ")
		}
	}
	q := r.URL.Query()
	data := map[string]any{"Title": "Top risks", "Rows": rows, "Total": rq.Total, "Account": q.Get("account"),
		"From": rq.Offset + 1, "To": rq.Offset + len(rows)}
	if rq.Offset > 0 {
		data["Prev"] = listURL("/risks", q, max(0, rq.Offset-rq.Limit))
	}
	if int64(rq.Offset+rq.Limit) < rq.Total {
		data["Next"] = listURL("/risks", q, rq.Offset+rq.Limit)
	}
	return "risks", data, nil
}

func (s *Server) apiRisks(r *http.Request) (any, error) {
	return s.loadRiskQueue(r)
}

// riskItem is one finding of the queue with the path it is ranked by.
type riskItem struct {
	Finding *finding.Finding `json:"finding"`
	// Path is the attack path's chain (attack-path findings), else the exposure path the score
	// used, hop by hop; empty when the finding is not reachable.
	Path []risk.Hop `json:"path"`
}

func (s *Server) loadRiskItem(r *http.Request) (*riskItem, error) {
	list, err := s.db.Findings(r.Context(), store.FindingFilter{IDs: []string{r.PathValue("id")}, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errNotFound
	}
	f := list[0]
	if err := s.db.ApplyMutes(r.Context(), list, time.Now()); err != nil {
		return nil, err
	}
	return &riskItem{Finding: f, Path: pathOf(f)}, nil
}

// pathOf reads the hops of a finding's path: an attack path's evidence names the rule of every
// hop; other scored findings carry the bare resources of their exposure path.
func pathOf(f *finding.Finding) []risk.Hop {
	if f.CheckID == risk.CheckAttackPath && len(f.Evidence) > 0 {
		var ev struct {
			Chain []risk.Hop `json:"chain"`
		}
		if json.Unmarshal(f.Evidence, &ev) == nil && len(ev.Chain) > 0 {
			return ev.Chain
		}
	}
	hops := []risk.Hop{}
	if f.Risk != nil {
		for _, p := range f.Risk.Path {
			hops = append(hops, risk.Hop{ARN: p})
		}
	}
	return hops
}

func (s *Server) riskDetail(r *http.Request) (string, map[string]any, error) {
	it, err := s.loadRiskItem(r)
	if err != nil {
		return "", nil, err
	}
	g := newDAG()
	addChain(g, it.Path)
	// Link the path page only for a resource of the inventory it analyses: an account-level
	// finding (password policy, EBS default encryption) has none, and the link would be a 404.
	link := ""
	if ok, err := s.inInventory(r, it.Finding.ResourceARN); err != nil {
		return "", nil, err
	} else if ok {
		link = pathURL(it.Finding.ResourceARN)
	}
	return "risk", map[string]any{"Title": it.Finding.Title, "F": it.Finding, "Hops": it.Path, "Factors": factorsOf(it.Finding.Risk),
		"Graph": g.layout("attack-path"), "PathURL": link}, nil
}

// inInventory says whether the scan the path page would show (the request's, default newest)
// holds a resource with this ARN.
func (s *Server) inInventory(r *http.Request, arn string) (bool, error) {
	sc, err := s.scanParam(r)
	if err != nil || sc == nil || arn == "" {
		return false, err
	}
	found := false
	err = s.db.EachResource(r.Context(), sc.ID, store.ResourceFilter{ARN: arn}, func(*inventory.Resource) error {
		found = true
		return nil
	})
	return found, err
}

func (s *Server) apiRisk(r *http.Request) (any, error) {
	return s.loadRiskItem(r)
}

// nodeOf describes a hop's resource for the graph.
func nodeOf(arn, typ string) gNode {
	n := gNode{ID: arn, Name: shortRef(arn), Sub: typ, Kind: "resource", Href: resourceURL(arn)}
	switch {
	case arn == "internet" || typ == "internet":
		n.Name, n.Sub, n.Kind, n.Href = "internet", "anyone", "internet", ""
	case typ == risk.TypeRole || strings.Contains(arn, ":role/"):
		n.Kind = "role"
	case typ == risk.TypeBucket || typ == risk.TypeDB || strings.HasPrefix(arn, "arn:aws:s3:::"):
		n.Kind = "data"
	case typ == risk.TypeAdminTarget:
		n.Kind, n.Href = "admin", ""
	case typ == risk.TypeAccountReach:
		n.Kind, n.Href = "account", ""
	}
	return n
}

// addChain adds a path of hops; the edge into each hop carries that hop's rule.
func addChain(g *dagGraph, hops []risk.Hop) {
	for i, h := range hops {
		g.node(nodeOf(h.ARN, h.Type))
		if i > 0 {
			g.edge(hops[i-1].ARN, h.ARN, h.Via)
		}
	}
}

// reportGraph draws a path report: every internet path to the resource, then the roles it runs
// as and what they reach.
func reportGraph(rep risk.Report) *svgGraph {
	g := newDAG()
	for _, e := range rep.Exposures {
		hops := e.Hops
		if len(hops) == 0 || hops[0].ARN != "internet" {
			hops = append([]risk.Hop{{ARN: "internet", Type: "internet", Via: ""}}, hops...)
		}
		if hops[len(hops)-1].ARN != rep.Resource {
			hops = append(hops, risk.Hop{ARN: rep.Resource, Type: rep.Type, Via: e.Ports() + " via " + e.Through})
		}
		addChain(g, hops)
	}
	g.node(nodeOf(rep.Resource, rep.Type))
	for _, ro := range rep.Roles {
		g.node(nodeOf(ro.ARN, risk.TypeRole))
		g.edge(rep.Resource, ro.ARN, "runs as")
		if ro.Admin != "" {
			admin := "administrator:" + ro.ARN
			g.node(gNode{ID: admin, Name: "administrator", Sub: "full control of the account", Kind: "admin"})
			g.edge(ro.ARN, admin, ro.Admin)
		}
		for _, re := range ro.Reaches {
			typ := risk.TypeBucket
			switch re.Kind {
			case "administrator":
				typ = risk.TypeAdminTarget
			case "account":
				typ = risk.TypeAccountReach
			}
			n := nodeOf(re.ARN, typ)
			if re.Name != "" {
				n.Name = re.Name
			}
			if re.Sensitivity != "" {
				n.Sub = typ + " [" + re.Sensitivity + "]"
			}
			g.node(n)
			g.edge(ro.ARN, re.ARN, re.Access+" via "+re.Via)
		}
	}
	return g.layout("attack-path")
}

// loadPath runs `yagura path` on the latest finished scan (or ?scan=ID).
func (s *Server) loadPath(r *http.Request) (*store.Scan, risk.Report, error) {
	sc, err := s.scanParam(r)
	if err != nil || sc == nil {
		if err == nil {
			err = errNotFound
		}
		return nil, risk.Report{}, err
	}
	rep, err := risk.PathReport(r.Context(), s.db, sc.ID, r.PathValue("resource"))
	var nr *risk.ErrNoResource
	if errors.As(err, &nr) {
		return nil, rep, notFound{nr.Error() + ": the path analysis covers the resources of the inventory (not account-level settings)"}
	}
	return sc, rep, err
}

// attackPathLink is an attack path through the resource, linked to its ranked item.
type attackPathLink struct {
	ID, Title string
}

func (s *Server) path(r *http.Request) (string, map[string]any, error) {
	sc, rep, err := s.loadPath(r)
	if err != nil {
		return "", nil, err
	}
	var links []attackPathLink
	for _, p := range rep.AttackPaths {
		id, title, _ := strings.Cut(p, " ")
		links = append(links, attackPathLink{ID: id, Title: title})
	}
	return "path", map[string]any{"Title": "Path of " + shortRef(rep.Resource), "Scan": sc, "R": rep,
		"Graph": reportGraph(rep), "AttackPaths": links}, nil
}

func (s *Server) apiPath(r *http.Request) (any, error) {
	sc, rep, err := s.loadPath(r)
	if err != nil {
		return nil, err
	}
	return map[string]any{"scan_id": sc.ID, "report": rep}, nil
}

// shortRef shows the last part of an ARN (the resource id or name), as `yagura top` does.
var shortRef = risk.ShortRef

func pathURL(arn string) string {
	if arn == "" {
		return ""
	}
	return localURL("/path/" + url.PathEscape(arn))
}

func riskURL(id string) string { return localURL("/risks/" + url.PathEscape(id)) }

// listURL is a list page's current query at another offset.
func listURL(path string, q url.Values, offset int) string {
	v := url.Values{}
	for k, vals := range q {
		v[k] = vals
	}
	v.Set("offset", strconv.Itoa(offset))
	return localURL(path + "?" + v.Encode())
}
