package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/yagura-dev/yagura/internal/demo"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/netsearch"
	"github.com/yagura-dev/yagura/internal/store"
)

// TestDashboardInChromium clicks through the dashboard of the scanned demo organization the way
// a person triaging it would: log in, read the overview, drill into an account, filter by
// severity, search an address, follow the top risk to its attack path, mute a finding, log out.
// Every step asserts on what the page shows (checked against the database where the page shows
// numbers) and leaves a screenshot.
func TestDashboardInChromium(t *testing.T) {
	chromiumPath(t) // before the expensive part: skip (or fail in CI) at once without a browser
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	org, db, scanID := scannedDemo(t, ctx)
	token := randomToken(t)
	base := serve(t, db, token)
	bctx := browser(t, ctx)
	cons := watchConsole(bctx)
	shots := screenshotDir(t)
	prod := org.Accounts["prod"]
	d := &driver{t: t, ctx: bctx, base: base, shots: shots}

	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"login", func(t *testing.T) {
			d.t = t
			resp := d.navigate("/")
			if loc := d.location(); loc.Path != "/login" {
				t.Fatalf("without a session the dashboard shows %s, want /login", loc)
			}
			if resp.Status != 200 || d.text("h1") != "Log in" {
				t.Fatalf("login page: status %d, h1 %q", resp.Status, d.text("h1"))
			}
			// A wrong token is refused and keeps the browser on the login form.
			d.setValue(`input[name="token"]`, "not-the-token")
			if resp := d.click(`form.login button[type="submit"]`); resp.Status != 401 || !strings.Contains(d.text("main"), "Wrong token.") {
				t.Fatalf("wrong token: status %d, page %q", resp.Status, d.text("main"))
			}
			d.setValue(`input[name="token"]`, token)
			resp = d.click(`form.login button[type="submit"]`)
			if resp.Status != 200 || d.location().Path != "/" || d.text("h1") != "Overview" {
				t.Fatalf("after login: status %d at %s, h1 %q", resp.Status, d.location(), d.text("h1"))
			}
			if d.count(`form.logout`) != 1 {
				t.Error("logged in, but the page offers no log out")
			}
			// The session cookie is HttpOnly: a script injected into a page cannot read it.
			if c := eval[string](d, `() => document.cookie`, nil); strings.Contains(c, "yagura_session") {
				t.Errorf("scripts can read the session cookie: %q", c)
			}
			d.shot("01-overview-after-login")
		}},
		{"overview", func(t *testing.T) {
			d.t = t
			d.navigate("/")
			accts, err := db.Accounts(ctx, scanID)
			if err != nil {
				t.Fatal(err)
			}
			if len(accts) != 6 {
				t.Fatalf("the demo scan saw %d accounts, want 6", len(accts))
			}
			if h := d.text("main"); !strings.Contains(h, "Accounts × severity (6 accounts)") || !strings.Contains(h, fmt.Sprintf("Scan #%d", scanID)) {
				t.Errorf("overview does not name scan #%d and its 6 accounts:\n%s", scanID, h)
			}
			// One heatmap row per demo account, each naming the account.
			rows := d.rows(`table.heat`)
			var firsts []string
			for _, r := range rows {
				firsts = append(firsts, r[0])
			}
			for key, id := range org.Accounts {
				name := ""
				for _, a := range accts {
					if a.ID == id {
						name = a.Name
					}
				}
				if name == "" || !slices.Contains(firsts, id+" "+name) {
					t.Errorf("heatmap lacks the %s account %s %q: rows %q", key, id, name, firsts)
				}
			}
			// The severity totals are the database's failing findings of exactly that severity.
			totals := d.texts(`ul.totals li`)
			if len(totals) != 5 {
				t.Fatalf("severity totals: %q", totals)
			}
			var sum int64
			for _, line := range totals {
				name, n, ok := strings.Cut(line, ": ")
				sev, err := finding.ParseSeverity(name)
				if !ok || err != nil {
					t.Fatalf("severity total %q", line)
				}
				want := countExactly(t, db, store.FindingFilter{Statuses: []string{"FAIL"}}, sev)
				if n != strconv.FormatInt(want, 10) {
					t.Errorf("overview shows %s, the database has %d", line, want)
				}
				sum += want
			}
			if crit := countExactly(t, db, store.FindingFilter{Statuses: []string{"FAIL"}}, finding.Critical); crit == 0 || sum == 0 {
				t.Errorf("the demo's planted weaknesses gave %d failing findings, %d critical", sum, crit)
			}
			// Coverage gaps: every collection that did not succeed, as the database records them.
			cov, err := db.CoverageOf(ctx, scanID)
			if err != nil {
				t.Fatal(err)
			}
			var gaps []string
			for _, c := range cov {
				if c.Status != store.CoverageOK {
					gaps = append(gaps, c.AccountID+" "+c.Region+" "+c.Collector+" "+c.Status)
				}
			}
			want := fmt.Sprintf("Coverage gaps (%d of %d tasks)", len(gaps), len(cov))
			if h := d.texts("main h2"); !slices.Contains(h, want) {
				t.Errorf("overview headings %q lack %q", h, want)
			}
			var shown []string
			for _, r := range d.sectionRows("Coverage gaps") {
				if len(r) == 5 {
					shown = append(shown, strings.Join(r[:4], " "))
				}
			}
			slices.Sort(gaps)
			slices.Sort(shown)
			if !slices.Equal(gaps, shown) {
				t.Errorf("overview lists the gaps %q, the database %q", shown, gaps)
			}
			d.shot("02-overview")
		}},
		{"account drill-down", func(t *testing.T) {
			d.t = t
			d.navigate("/")
			// The account's name cell in the heatmap links to its failing findings.
			d.click(fmt.Sprintf(`table.heat tbody td:first-child a[href*="account=%s"]`, prod))
			loc := d.location()
			if loc.Path != "/findings" || loc.Query().Get("account") != prod || d.text("h1") != "Findings" {
				t.Fatalf("heatmap link led to %s (h1 %q)", loc, d.text("h1"))
			}
			if v := d.value(`input[name="account"]`); v != prod {
				t.Errorf("account filter shows %q, want %s", v, prod)
			}
			want, err := db.CountFindings(ctx, store.FindingFilter{Statuses: []string{"FAIL"}, Accounts: []string{prod}})
			if err != nil {
				t.Fatal(err)
			}
			d.assertCount(want)
			rows := d.findingRows()
			if len(rows) == 0 {
				t.Fatal("no findings for the prod account")
			}
			for _, r := range rows {
				if r[3] != prod || !strings.HasPrefix(r[1], "FAIL") {
					t.Errorf("row of another account or status in the prod drill-down: %q", r)
				}
			}
			// The planted attack path (web-1 → web-admin → confidential bucket) is prod's worst finding.
			web1 := org.Planted["instance-imdsv1-public-admin"]
			if !slices.ContainsFunc(rows, func(r []string) bool { return strings.HasSuffix(r[5], "/"+web1) && r[6] == "risk.attack_path" }) {
				t.Errorf("prod's findings lack the attack path from web-1 (%s): %q", web1, rows)
			}
			d.shot("03-account-findings")
		}},
		{"filter by severity", func(t *testing.T) {
			d.t = t
			// The heatmap's prod × high cell, to compare with the filtered list.
			d.navigate("/")
			var cell string
			for _, r := range d.rows(`table.heat`) {
				if strings.HasPrefix(r[0], prod+" ") && len(r) == 7 {
					cell = r[2] // account, critical, high, …
				}
			}
			d.navigate("/findings?" + url.Values{"account": {prod}, "status": {"FAIL"}}.Encode())
			d.setValue(`select[name="severity"]`, "high")
			d.click(`form.filters button[type="submit"]`)
			if q := d.location().Query(); q.Get("severity") != "high" || q.Get("account") != prod {
				t.Fatalf("filter form sent %s", d.location())
			}
			// "high" is exactly high, as `yagura findings --severity high`: prod's critical
			// findings (the attack paths) must not show.
			want := countExactly(t, db, store.FindingFilter{Statuses: []string{"FAIL"}, Accounts: []string{prod}}, finding.High)
			if want == 0 {
				t.Fatal("the demo's prod account has no high finding to filter for")
			}
			if cell != strconv.FormatInt(want, 10) {
				t.Errorf("heatmap cell prod × high shows %q, the database has %d", cell, want)
			}
			d.assertCount(want)
			rows := d.findingRows()
			for _, r := range rows {
				if r[0] != "high" || r[3] != prod {
					t.Errorf("row in the high filter of %s: %q", prod, r)
				}
			}
			if int64(len(rows)) != min(want, 50) {
				t.Errorf("%d rows shown, want %d", len(rows), min(want, 50))
			}
			d.shot("04-findings-high")
		}},
		{"search an address", func(t *testing.T) {
			d.t = t
			d.navigate("/")
			d.click(`nav a[href="/search"]`)
			d.setValue(`#search-form input[name="q"]`, demo.ExternalAddress)
			d.click(`#search-form button[type="submit"]`)
			if loc := d.location(); loc.Path != "/search" || loc.Query().Get("q") != demo.ExternalAddress {
				t.Fatalf("search form led to %s", loc)
			}
			// The page lists the rules `yagura find` finds in the index, no more, no fewer.
			q, err := netsearch.ParseQuery(demo.ExternalAddress, false, netsearch.QueryOptions{Port: -1})
			if err != nil {
				t.Fatal(err)
			}
			matches, err := netsearch.Find(ctx, db, scanID, q)
			if err != nil {
				t.Fatal(err)
			}
			var want, got []string
			for _, m := range matches {
				want = append(want, m.AccountID+" "+m.ResourceARN)
			}
			rows := d.tableRows(`s => document.querySelector(s)`, "#search-results")
			for _, r := range rows {
				if len(r) == 12 {
					got = append(got, r[0]+" "+r[3])
				}
			}
			slices.Sort(want)
			slices.Sort(got)
			if len(want) == 0 || !slices.Equal(got, want) {
				t.Errorf("search shows %q, the index has %q", got, want)
			}
			if c := d.text("#search-count"); !strings.HasPrefix(c, fmt.Sprintf("%d rules concern %s", len(matches), demo.ExternalAddress)) {
				t.Errorf("search count line %q, %d matches", c, len(matches))
			}
			// Among them the planted rule: HTTPS from the former contractor's /32 in prod.
			sg := org.Planted["sg-external-address"]
			if !slices.ContainsFunc(rows, func(r []string) bool {
				return len(r) == 12 && r[0] == prod && strings.HasSuffix(r[3], "/"+sg) && r[4] == "partner-access" &&
					strings.Contains(r[7], "443") && strings.Contains(strings.Join(r, " "), demo.ExternalAddress+"/32")
			}) {
				t.Errorf("no row for the planted partner-access rule (%s, 443 from %s/32): %q", sg, demo.ExternalAddress, rows)
			}
			d.shot("05-search-address")
		}},
		{"attack path", func(t *testing.T) {
			d.t = t
			d.navigate("/")
			d.click(`nav a[href="/risks"]`)
			if d.location().Path != "/risks" || d.count(`#risk-queue`) != 1 {
				t.Fatalf("the top risks link led to %s", d.location())
			}
			// The queue is the database's ranking, and the planted path heads it.
			top, err := db.Findings(ctx, store.FindingFilter{Statuses: []string{"FAIL"}, OrderByRisk: true, Limit: 1})
			if err != nil || len(top) == 0 {
				t.Fatalf("no ranked finding: %v", err)
			}
			first := d.attr(`#risk-queue tbody tr:first-child a.risk-link`, "href")
			if first != "/risks/"+url.PathEscape(top[0].ID) {
				t.Errorf("first risk links to %q, the database ranks %s (%q) first", first, top[0].ID, top[0].Title)
			}
			web1 := org.Planted["instance-imdsv1-public-admin"]
			bucket := org.Planted["bucket-confidential"]
			if title := d.text(`#risk-queue tbody tr:first-child a.risk-link`); !strings.Contains(title, "web-1") || !strings.Contains(title, "web-admin") || !strings.Contains(title, bucket) {
				t.Errorf("first risk %q is not the path web-1 → web-admin → %s", title, bucket)
			}
			d.shot("06-top-risks")
			d.click(`#risk-queue tbody tr:first-child a.risk-link`)
			if d.count(`svg#attack-path`) != 1 {
				t.Fatalf("%s draws no svg#attack-path", d.location())
			}
			// The path, hop by hop: the internet, the network hops to web-1 (through the planted
			// SSH-from-anywhere group), web-1, its role web-admin, the bucket. The hop list below
			// the graph gives the order; the graph must draw the same resources, with an edge from
			// each hop to the next.
			hops := d.texts(`#path-hops li > .arn`)
			chain := []string{"internet",
				fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", top[0].Region, prod, org.Planted["sg-ssh-world"]),
				fmt.Sprintf("arn:aws:ec2:%s:%s:instance/%s", top[0].Region, prod, web1),
				fmt.Sprintf("arn:aws:iam::%s:role/web-admin", prod),
				"arn:aws:s3:::" + bucket}
			at := -1
			for _, n := range chain {
				i := slices.Index(hops, n)
				if i <= at {
					t.Errorf("attack path hops %q lack %s after %v", hops, n, chain[:slices.Index(chain, n)])
					break
				}
				at = i
			}
			if len(hops) == 0 || hops[0] != "internet" || hops[len(hops)-1] != chain[len(chain)-1] {
				t.Errorf("the attack path does not run from the internet to the bucket: %q", hops)
			}
			nodes := eval[[]string](d, `() => Array.from(document.querySelectorAll("svg#attack-path g.node"), g => g.dataset.id)`, nil)
			if !slices.Equal(slices.Sorted(slices.Values(nodes)), slices.Sorted(slices.Values(hops))) {
				t.Errorf("the graph draws %q, the hop list names %q", nodes, hops)
			}
			edges := eval[[]string](d, `() => Array.from(document.querySelectorAll("svg#attack-path g.edge"), g => g.dataset.from + " -> " + g.dataset.to)`, nil)
			for i := 1; i < len(hops); i++ {
				if e := hops[i-1] + " -> " + hops[i]; !slices.Contains(edges, e) {
					t.Errorf("no edge %s in the graph %q", e, edges)
				}
			}
			if len(edges) != len(hops)-1 {
				t.Errorf("%d edges for a chain of %d hops", len(edges), len(hops))
			}
			d.shot("07-attack-path")
		}},
		{"mute a finding", func(t *testing.T) {
			d.t = t
			d.navigate("/findings?" + url.Values{"account": {prod}, "status": {"FAIL"}, "severity": {"high"}}.Encode())
			d.click(`table.findings tbody tr:first-child td:nth-child(3) a`)
			page := d.location().Path
			id, err := url.PathUnescape(strings.TrimPrefix(page, "/findings/"))
			if err != nil || id == "" || id == page {
				t.Fatalf("finding link led to %s", page)
			}
			// The mute form carries the session's CSRF token; the server refuses a forged one.
			csrf := d.value(`form[action$="/mute"] input[name="csrf"]`)
			if meta := d.attr(`meta[name="csrf-token"]`, "content"); len(csrf) != 64 || csrf != meta {
				t.Fatalf("mute form csrf %q, page csrf %q", csrf, meta)
			}
			d.setValue(`form[action$="/mute"] input[name="csrf"]`, strings.Repeat("0", 64))
			d.setValue(`input[name="reason"]`, "forged")
			if resp := d.click(`form[action$="/mute"] button[type="submit"]`); resp.Status != 403 || !strings.Contains(d.text("body"), "CSRF") {
				t.Errorf("mute with a forged CSRF token: status %d, %q", resp.Status, d.text("body"))
			}
			if m, err := db.MuteOf(ctx, id); err != nil || m != nil {
				t.Fatalf("a forged mute was stored: %+v %v", m, err)
			}
			d.navigate(page)
			expires := time.Now().UTC().AddDate(0, 1, 0).Format("2006-01-02")
			const reason = "Accepted until the web tier moves behind the load balancer (e2e)"
			d.setValue(`input[name="reason"]`, reason)
			d.setValue(`input[name="expires"]`, expires)
			resp := d.click(`form[action$="/mute"] button[type="submit"]`)
			if resp.Status != 200 || d.location().Path != page {
				t.Fatalf("mute: status %d at %s", resp.Status, d.location())
			}
			if got, want := d.text("p.mute"), "Muted: "+reason+" (until "+expires+" 23:59:59Z)"; !strings.HasPrefix(got, want) {
				t.Errorf("finding page says %q, want %q…", got, want)
			}
			m, err := db.MuteOf(ctx, id)
			if err != nil || m == nil || m.Reason != reason || m.Expires == nil || m.Expires.Format("2006-01-02") != expires {
				t.Fatalf("stored mute %+v (%v)", m, err)
			}
			d.shot("08-finding-muted")
			// The findings list marks it muted.
			d.navigate("/findings?" + url.Values{"account": {prod}, "status": {"FAIL"}, "severity": {"high"}}.Encode())
			sel := fmt.Sprintf(`table.findings tbody tr:has(a[href=%q]) span.muted`, page)
			if d.count(sel) != 1 || d.attr(sel, "title") != reason {
				t.Errorf("the findings list does not mark %s muted", id)
			}
			d.shot("09-findings-with-muted")
		}},
		{"log out", func(t *testing.T) {
			d.t = t
			d.navigate("/")
			d.click(`form.logout button[type="submit"]`)
			if d.location().Path != "/login" {
				t.Fatalf("log out led to %s", d.location())
			}
			// The old session is gone: the dashboard asks for the token again.
			d.navigate("/findings")
			if d.location().Path != "/login" || d.text("h1") != "Log in" {
				t.Errorf("after log out /findings shows %s (h1 %q)", d.location(), d.text("h1"))
			}
			d.shot("10-logged-out")
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.fn) {
			break // later steps start from the state the failed one should have left
		}
	}
	// The wrong token (401) and the forged CSRF token (403) are the only errors the pages may show.
	for _, e := range cons.errors("401", "403") {
		t.Errorf("browser console: %s", e)
	}
	// The watch above would miss a violation of the Content Security Policy if the console did
	// not report one: an image from a data: URL (img-src 'self') must show there.
	eval[any](d, `() => { const i = document.createElement("img"); i.src = "data:image/gif;base64,R0lGODlhAQABAAAAACw="; document.body.append(i); return null }`, nil)
	deadline := time.Now().Add(5 * time.Second)
	for !slices.ContainsFunc(cons.errors(), func(e string) bool { return strings.Contains(e, "Content Security Policy") }) {
		if time.Now().After(deadline) {
			t.Errorf("a blocked image did not reach the browser console: %q", cons.errors())
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("whole test: %s", time.Since(began).Round(time.Millisecond))
}

// countExactly counts the findings of f with exactly severity sev.
func countExactly(t *testing.T, db *store.DB, f store.FindingFilter, sev finding.Severity) int64 {
	t.Helper()
	f.MinSeverity = sev
	atLeast, err := db.CountFindings(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if sev == finding.Critical {
		return atLeast
	}
	f.MinSeverity = sev + 1
	above, err := db.CountFindings(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return atLeast - above
}

// driver wraps the browser for one test step: every failure is the step's, with the page's
// location for context.
type driver struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string
}

func (d *driver) fail(what string, err error) {
	d.t.Helper()
	loc, _ := chromedp.Run(d.ctx, chromedp.Location())
	d.t.Fatalf("%s (at %s): %v", what, loc, err)
}

// navigate loads a dashboard path and waits for the page.
func (d *driver) navigate(path string) *network.Response {
	d.t.Helper()
	resp, err := chromedp.Run(d.ctx, chromedp.NavigateResponse(d.base+path))
	if err != nil {
		d.fail("navigate "+path, err)
	}
	return resp
}

// click clicks the first element matching a CSS selector and waits for the page it loads.
func (d *driver) click(sel string) *network.Response {
	d.t.Helper()
	resp, err := chromedp.RunResponse(d.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		d.fail("click "+sel, err)
	}
	return resp
}

func (d *driver) setValue(sel, v string) {
	d.t.Helper()
	if err := chromedp.Do(d.ctx, chromedp.SetValue(chromedp.CSS(sel), v)); err != nil {
		d.fail("set "+sel, err)
	}
}

func (d *driver) location() *url.URL {
	d.t.Helper()
	loc, err := chromedp.Run(d.ctx, chromedp.Location())
	if err != nil {
		d.fail("location", err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		d.fail("location", err)
	}
	return u
}

// eval runs a JavaScript function of one argument (passed as JSON) on the page.
func eval[T any](d *driver, fn string, arg any) T {
	d.t.Helper()
	a, err := json.Marshal(arg)
	if err != nil {
		d.t.Fatal(err)
	}
	v, err := chromedp.Run(d.ctx, chromedp.Evaluate[T]("("+fn+")("+string(a)+")"))
	if err != nil {
		d.fail("evaluate "+fn, err)
	}
	return v
}

var spaces = regexp.MustCompile(`\s+`)

// texts are the whitespace-normalized texts of every element matching sel.
func (d *driver) texts(sel string) []string {
	d.t.Helper()
	out := eval[[]string](d, `s => Array.from(document.querySelectorAll(s), e => e.textContent)`, sel)
	for i := range out {
		out[i] = strings.TrimSpace(spaces.ReplaceAllString(out[i], " "))
	}
	return out
}

// text is the text of the first element matching sel ("" when none).
func (d *driver) text(sel string) string {
	d.t.Helper()
	if all := d.texts(sel); len(all) > 0 {
		return all[0]
	}
	return ""
}

func (d *driver) count(sel string) int {
	d.t.Helper()
	return eval[int](d, `s => document.querySelectorAll(s).length`, sel)
}

func (d *driver) value(sel string) string {
	d.t.Helper()
	return eval[string](d, `s => { const e = document.querySelector(s); return e ? e.value : "" }`, sel)
}

func (d *driver) attr(sel, name string) string {
	d.t.Helper()
	return eval[string](d, `a => { const e = document.querySelector(a[0]); return (e && e.getAttribute(a[1])) || "" }`, []string{sel, name})
}

// rows are the cell texts of the body rows of the first table matching sel.
func (d *driver) rows(sel string) [][]string {
	d.t.Helper()
	return d.tableRows(`s => document.querySelector(s)`, sel)
}

// tableRows are the cell texts of the body rows of the table a JavaScript function of arg finds.
func (d *driver) tableRows(find string, arg any) [][]string {
	d.t.Helper()
	out := eval[[][]string](d, `a => { const t = (`+find+`)(a); return t ? Array.from(t.tBodies[0].rows, r => Array.from(r.cells, c => c.textContent)) : [] }`, arg)
	for _, r := range out {
		for i := range r {
			r[i] = strings.TrimSpace(spaces.ReplaceAllString(r[i], " "))
		}
	}
	return out
}

// sectionRows are the cell texts of the body rows of the table in the section whose heading
// starts with heading.
func (d *driver) sectionRows(heading string) [][]string {
	d.t.Helper()
	return d.tableRows(`h => { const s = Array.from(document.querySelectorAll("section")).find(s => s.querySelector("h2")?.textContent.startsWith(h)); return s && s.querySelector("table") }`, heading)
}

// findingRows are the rows of the findings table, without the "No findings." placeholder.
// Columns: severity, status, title, account, region, resource, check, lifecycle, last seen.
func (d *driver) findingRows() [][]string {
	d.t.Helper()
	var out [][]string
	for _, r := range d.rows(`table.findings`) {
		if len(r) == 9 {
			out = append(out, r)
		}
	}
	return out
}

// assertCount checks the findings page's "A–B of N findings" line against the database.
func (d *driver) assertCount(want int64) {
	d.t.Helper()
	line := d.text("p.count")
	if !strings.HasSuffix(line, fmt.Sprintf(" of %d findings", want)) {
		d.t.Errorf("findings page says %q, the database has %d", line, want)
	}
}

func (d *driver) shot(name string) {
	d.t.Helper()
	shot(d.t, d.ctx, d.shots, name)
}
