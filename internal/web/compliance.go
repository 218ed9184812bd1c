package web

import (
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/yagura-dev/yagura/internal/check"
	"github.com/yagura-dev/yagura/internal/store"
)

// The compliance page: a framework's pass rate per control and per account, from the current
// findings mapped to its controls (store.ControlCounts), with drill-down to the failing ones.

// rateRow is one control or account with its counts and pass rate.
type rateRow struct {
	ID          string   `json:"id"`
	Title       string   `json:"title,omitempty"`
	Name        string   `json:"name,omitempty"` // accounts: the account name
	Automated   bool     `json:"automated,omitempty"`
	Implemented bool     `json:"implemented,omitempty"`
	Checks      []string `json:"checks,omitempty"`
	store.StatusCounts
	// PassRate is PASS / (PASS + FAIL) in percent; nil when nothing was assessed.
	PassRate *float64 `json:"pass_rate"`
}

func (r *rateRow) add(c store.StatusCounts) {
	r.Pass += c.Pass
	r.Fail += c.Fail
	r.Error += c.Error
}

func (r *rateRow) settle() {
	if n := r.Pass + r.Fail; n > 0 {
		v := float64(int(float64(r.Pass)/float64(n)*1000+0.5)) / 10
		r.PassRate = &v
	}
}

// compliance is the page's and the API's data.
type compliance struct {
	Framework string    `json:"framework"`
	Account   string    `json:"account,omitempty"`
	Overall   rateRow   `json:"overall"`
	Controls  []rateRow `json:"controls"`
	Accounts  []rateRow `json:"accounts"`
}

func (s *Server) loadCompliance(r *http.Request) (*compliance, error) {
	q := r.URL.Query()
	fw := q.Get("framework")
	if fw == "" {
		fw = check.Frameworks[0]
	}
	if err := check.ValidateFramework(fw); err != nil {
		return nil, badRequest{"framework: " + err.Error()}
	}
	account := strings.TrimSpace(q.Get("account"))
	counts, err := s.db.ControlCounts(r.Context(), fw)
	if err != nil {
		return nil, err
	}
	out := &compliance{Framework: fw, Account: account, Overall: rateRow{ID: fw}}
	byControl := map[string]*rateRow{}
	var order []string
	for _, cc := range check.Coverage(fw) {
		byControl[cc.ID] = &rateRow{ID: cc.ID, Title: cc.Title, Automated: cc.Automated, Implemented: cc.Implemented, Checks: cc.Checks}
		order = append(order, cc.ID)
	}
	byAccount := map[string]*rateRow{}
	for _, c := range counts {
		a := byAccount[c.AccountID]
		if a == nil {
			a = &rateRow{ID: c.AccountID}
			byAccount[c.AccountID] = a
		}
		a.add(c.StatusCounts)
		if account != "" && c.AccountID != account {
			continue
		}
		// Controls only native findings map (e.g. Security Hub's) are listed too.
		ctl := byControl[c.Control]
		if ctl == nil {
			ctl = &rateRow{ID: c.Control, Automated: true}
			byControl[c.Control] = ctl
			order = append(order, c.Control)
		}
		ctl.add(c.StatusCounts)
		out.Overall.add(c.StatusCounts)
	}
	for _, id := range order {
		ctl := byControl[id]
		ctl.settle()
		out.Controls = append(out.Controls, *ctl)
	}
	names := map[string]string{}
	if sc, err := s.latestScan(r.Context()); err != nil {
		return nil, err
	} else if sc != nil {
		accts, err := s.db.Accounts(r.Context(), sc.ID)
		if err != nil {
			return nil, err
		}
		for _, a := range accts {
			names[a.ID] = a.Name
		}
	}
	for _, a := range byAccount {
		a.Name = names[a.ID]
		a.settle()
		out.Accounts = append(out.Accounts, *a)
	}
	// Worst accounts first: the reader looks for where to act.
	sort.Slice(out.Accounts, func(i, j int) bool {
		ri, rj := rateOf(out.Accounts[i]), rateOf(out.Accounts[j])
		if ri != rj {
			return ri < rj
		}
		return out.Accounts[i].ID < out.Accounts[j].ID
	})
	out.Overall.settle()
	if out.Controls == nil {
		out.Controls = []rateRow{}
	}
	if out.Accounts == nil {
		out.Accounts = []rateRow{}
	}
	return out, nil
}

func rateOf(r rateRow) float64 {
	if r.PassRate == nil {
		return 101 // unassessed last
	}
	return *r.PassRate
}

func (s *Server) compliance(r *http.Request) (string, map[string]any, error) {
	c, err := s.loadCompliance(r)
	if err != nil {
		return "", nil, err
	}
	return "compliance", map[string]any{"Title": "Compliance: " + c.Framework, "C": c, "Frameworks": check.Frameworks}, nil
}

func (s *Server) apiCompliance(r *http.Request) (any, error) {
	return s.loadCompliance(r)
}

// complianceURL links the compliance page of a framework, narrowed to an account.
func complianceURL(framework, account string) string {
	v := url.Values{"framework": {framework}}
	if account != "" {
		v.Set("account", account)
	}
	return localURL("/compliance?" + v.Encode())
}
