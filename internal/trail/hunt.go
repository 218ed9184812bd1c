package trail

import (
	"embed"
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/yagura-dev/yagura/internal/finding"
)

//go:embed rules/*.yml
var builtinRules embed.FS

// BuiltinRules compiles yagura's own rule set. Rules that need a placeholder without values
// (e.g. %org_accounts% when no account list is known) come back as RuleErrors.
func BuiltinRules(ph Placeholders) ([]*Rule, []RuleError, error) {
	return LoadRules(builtinRules, "rules", ph)
}

// MaxEvidence bounds the events kept per alert; Count still counts them all.
const MaxEvidence = 20

// Alert is one detection: a rule that matched, grouped per account, region and principal (or
// per aggregation group), with the matching events as evidence.
type Alert struct {
	Rule        string            `json:"rule"`
	RuleID      string            `json:"rule_id"`
	Title       string            `json:"title"`
	Level       string            `json:"level"`
	Description string            `json:"description,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
	Account     string            `json:"account_id"`
	Region      string            `json:"region"`
	Principal   string            `json:"principal"`
	Group       string            `json:"group,omitempty"` // aggregation group value
	First       string            `json:"first_event_time"`
	Last        string            `json:"last_event_time"`
	Count       int               `json:"count"`
	Events      []json.RawMessage `json:"events"`
}

// Finding converts the alert to yagura's finding model (source "cloudtrail").
func (a *Alert) Finding() finding.Finding {
	sev, err := finding.ParseSeverity(a.Level)
	if err != nil {
		sev = finding.Medium
	}
	ev, _ := json.Marshal(map[string]any{"rule_id": a.RuleID, "count": a.Count, "group": a.Group, "principal": a.Principal,
		"first_event_time": a.First, "last_event_time": a.Last, "events": a.Events})
	first, _ := time.Parse(time.RFC3339, a.First)
	last, _ := time.Parse(time.RFC3339, a.Last)
	resType := "AWS::IAM::Principal"
	if !strings.HasPrefix(a.Principal, "arn:") {
		resType = "Other"
	}
	detail := a.Description
	if detail != "" {
		detail += " "
	}
	detail += pluralEvents(a.Count) + " by " + a.Principal + " between " + a.First + " and " + a.Last + "."
	return finding.Finding{
		ID:           finding.StableID("cloudtrail", a.RuleID, a.Account, a.Region, a.Principal, a.Group),
		CheckID:      "trail:" + a.Rule,
		Controls:     []string{},
		Source:       "cloudtrail",
		Status:       finding.Fail,
		Severity:     sev,
		AccountID:    a.Account,
		Region:       a.Region,
		ResourceARN:  a.Principal,
		ResourceType: resType,
		Title:        a.Title,
		Detail:       detail,
		Evidence:     ev,
		FirstSeen:    first,
		LastSeen:     last,
		Lifecycle:    finding.LifecycleNew,
	}
}

func pluralEvents(n int) string {
	if n == 1 {
		return "1 matching event"
	}
	return itoa(n) + " matching events"
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	if n == 0 {
		return "0"
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// Hunter runs compiled rules over events. Observe is safe for concurrent use.
type Hunter struct {
	rules   []*Rule
	byName  map[string][]*Rule // lower-cased eventName → rules pinned to it
	anyName []*Rule            // rules that can match any eventName

	mu     sync.Mutex
	alerts map[string]*Alert
	hits   map[string]*aggGroup
}

// maxAggRaw bounds the events whose JSON an aggregation group keeps as evidence.
const maxAggRaw = 2000

type aggGroup struct {
	raws    int
	rule    *Rule
	account string
	region  string
	group   string
	events  []aggEvent
}

type aggEvent struct {
	t         time.Time
	distinct  string
	principal string
	raw       json.RawMessage
}

// NewHunter indexes rules by the eventNames they pin.
func NewHunter(rules []*Rule) *Hunter {
	h := &Hunter{rules: rules, byName: map[string][]*Rule{}, alerts: map[string]*Alert{}, hits: map[string]*aggGroup{}}
	for _, r := range rules {
		if len(r.EventNames) == 0 {
			h.anyName = append(h.anyName, r)
			continue
		}
		for _, n := range r.EventNames {
			h.byName[n] = append(h.byName[n], r)
		}
	}
	return h
}

// Candidates returns the rules that can match an event with this eventName.
func (h *Hunter) candidates(name string, fn func(*Rule)) {
	var buf [96]byte
	b := buf[:0]
	for i := 0; i < len(name) && len(b) < cap(buf); i++ {
		c := name[i]
		if c >= 'A' && c <= 'Z' {
			c += 32
		}
		b = append(b, c)
	}
	for _, r := range h.byName[string(b)] {
		fn(r)
	}
	for _, r := range h.anyName {
		fn(r)
	}
}

// Observe matches one event against every candidate rule. It reports whether any matched.
func (h *Hunter) Observe(e *Event) bool {
	matched := false
	h.candidates(e.EventName, func(r *Rule) {
		if !r.match(e) {
			return
		}
		matched = true
		h.record(r, e)
	})
	return matched
}

func (h *Hunter) record(r *Rule, e *Event) {
	principal := e.Principal()
	if r.agg != nil {
		group := ""
		if r.agg.groupBy != "" {
			group, _ = e.Get(r.agg.groupBy)
		}
		distinct := ""
		if r.agg.distinct != "" {
			distinct, _ = e.Get(r.agg.distinct)
		}
		t, _ := time.Parse(time.RFC3339, e.EventTime)
		key := r.ID + "\x00" + e.Account + "\x00" + e.Region + "\x00" + group
		ae := aggEvent{t: t, distinct: strings.Clone(distinct)}
		h.mu.Lock()
		g := h.hits[key]
		if g == nil {
			g = &aggGroup{rule: r, account: strings.Clone(e.Account), region: strings.Clone(e.Region), group: strings.Clone(group)}
			h.hits[key] = g
		}
		// Every match keeps its time (the window needs them all); only the first
		// maxAggRaw keep their JSON, which bounds memory on floods of denied calls.
		if g.raws < maxAggRaw {
			g.raws++
			ae.principal = strings.Clone(principal)
			ae.raw = append(json.RawMessage(nil), e.Raw...)
		}
		g.events = append(g.events, ae)
		h.mu.Unlock()
		return
	}
	key := r.ID + "\x00" + e.Account + "\x00" + e.Region + "\x00" + principal
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.alerts[key]
	if a == nil {
		a = &Alert{Rule: r.Name, RuleID: r.ID, Title: r.Title, Level: r.Level, Description: r.Description, Tags: r.Tags,
			Account: strings.Clone(e.Account), Region: strings.Clone(e.Region), Principal: strings.Clone(principal),
			First: strings.Clone(e.EventTime), Last: strings.Clone(e.EventTime)}
		h.alerts[key] = a
	}
	a.Count++
	if e.EventTime < a.First {
		a.First = strings.Clone(e.EventTime)
	}
	if e.EventTime > a.Last {
		a.Last = strings.Clone(e.EventTime)
	}
	if len(a.Events) < MaxEvidence {
		a.Events = append(a.Events, append(json.RawMessage(nil), e.Raw...))
	}
}

// Alerts returns the alerts found so far, aggregations evaluated, most severe first.
func (h *Hunter) Alerts() []*Alert {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*Alert
	for _, a := range h.alerts {
		out = append(out, a)
	}
	for _, g := range h.hits {
		if a := g.evaluate(); a != nil {
			out = append(out, a)
		}
	}
	rank := map[string]int{"critical": 0, "high": 1, "medium": 2, "low": 3, "informational": 4}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if rank[a.Level] != rank[b.Level] {
			return rank[a.Level] < rank[b.Level]
		}
		if a.RuleID != b.RuleID {
			return a.RuleID < b.RuleID
		}
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		return a.Principal+a.Group < b.Principal+b.Group
	})
	return out
}

// evaluate slides a Timeframe window over the group's events (they arrive out of order from
// parallel readers, so this runs at the end) and alerts on the busiest window that passes.
func (g *aggGroup) evaluate() *Alert {
	ev := g.events
	sort.Slice(ev, func(i, j int) bool { return ev[i].t.Before(ev[j].t) })
	r := g.rule
	bestStart, bestEnd, best := -1, -1, 0
	j := 0
	distinct := map[string]int{}
	for i := range ev {
		if r.agg.distinct != "" {
			distinct[ev[i].distinct]++
		}
		for ev[i].t.Sub(ev[j].t) > r.Timeframe {
			if r.agg.distinct != "" {
				if distinct[ev[j].distinct]--; distinct[ev[j].distinct] == 0 {
					delete(distinct, ev[j].distinct)
				}
			}
			j++
		}
		c := i - j + 1
		if r.agg.distinct != "" {
			c = len(distinct)
		}
		if r.agg.ok(c) && c > best {
			best, bestStart, bestEnd = c, j, i
		}
	}
	if bestStart < 0 {
		return nil
	}
	win := ev[bestStart : bestEnd+1]
	a := &Alert{Rule: r.Name, RuleID: r.ID, Title: r.Title, Level: r.Level, Description: r.Description, Tags: r.Tags,
		Account: g.account, Region: g.region, Group: g.group, Count: len(win),
		First: win[0].t.UTC().Format(time.RFC3339), Last: win[len(win)-1].t.UTC().Format(time.RFC3339)}
	for _, e := range win {
		if e.raw == nil {
			continue
		}
		if a.Principal == "" {
			a.Principal = e.principal
		}
		if len(a.Events) < MaxEvidence {
			a.Events = append(a.Events, e.raw)
		}
	}
	if r.agg.groupBy != "" && strings.HasPrefix(g.group, "arn:") {
		a.Principal = g.group
	}
	return a
}
