package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/store"
)

const (
	hostileScript = `<script>alert(1)</script>`
	hostileImg    = `"><img src=x onerror=alert(1)>`
	hostileURL    = `javascript:alert(1)`
	acctA         = "111111111111"
	acctB         = "222222222222"
	sgARN         = "arn:aws:ec2:us-east-1:111111111111:security-group/sg-0123"
	bucketARN     = "arn:aws:s3:::prod-data"
	// hostileSG is a real-looking ARN whose resource part an attacker chose.
	hostileSG = `arn:aws:ec2:us-east-1:111111111111:security-group/"><img src=x onerror=alert(1)>`
)

// fixture fills a fresh database through the store's own writers: two scans, so that one
// finding is resolved by the second, plus hostile names, tags, ARNs and evidence.
func fixture(t testing.TB) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "y.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	okCov := store.Coverage{AccountID: acctA, Region: "us-east-1", Collector: "ec2.security-groups", Service: "ec2", Status: store.CoverageOK, Items: 2}
	oldFinding := &finding.Finding{ID: "f-old", CheckID: "s3.bucket_public_read", Source: "yagura", Status: finding.Fail,
		Severity: finding.High, AccountID: acctA, Region: "us-east-1", ResourceARN: bucketARN, ResourceType: "AWS::S3::Bucket",
		Title: "Bucket readable by everyone", Collector: "ec2.security-groups|" + acctA + "|us-east-1"}

	scan1, err := db.CreateScan(ctx, "arn:aws:iam::123456789012:user/a", "123456789012", "o-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	must(t, db.PutAccount(ctx, scan1, store.Account{ID: acctA, Name: "prod", Status: "ACTIVE", Access: "ok"}))
	must(t, db.PutCoverage(ctx, scan1, okCov))
	fw := db.NewFindingWriter(scan1)
	must(t, fw.Put(oldFinding))
	must(t, fw.Close())
	must(t, db.FinalizeFindings(ctx, scan1))
	must(t, db.FinishScan(ctx, scan1, store.ScanComplete, ""))

	scan2, err := db.CreateScan(ctx, "arn:aws:iam::123456789012:user/a", "123456789012", "o-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	must(t, db.PutAccount(ctx, scan2, store.Account{ID: acctA, Name: "prod", Status: "ACTIVE", Access: "ok", Regions: []string{"us-east-1"}}))
	must(t, db.PutAccount(ctx, scan2, store.Account{ID: acctB, Name: hostileScript, Email: hostileImg, Status: "ACTIVE", Access: "denied",
		AccessReason: hostileImg, Tags: map[string]string{"owner": hostileImg, hostileScript: hostileURL}}))
	must(t, db.PutCoverage(ctx, scan2, okCov))
	must(t, db.PutCoverage(ctx, scan2, store.Coverage{AccountID: acctB, Region: "eu-west-1", Collector: "guardduty.detectors",
		Service: "guardduty", Status: store.CoverageDenied, Reason: "AccessDenied " + hostileImg}))

	w := db.NewWriter(scan2)
	now := time.Now().UTC()
	must(t, w.PutResource(&inventory.Resource{ARN: sgARN, Type: "AWS::EC2::SecurityGroup", AccountID: acctA, Region: "us-east-1",
		Name: "web-sg", Tags: map[string]string{"env": "prod"}, Config: json.RawMessage(`{"GroupId":"sg-0123","IpPermissions":[{"FromPort":22}]}`), CollectedAt: now}))
	must(t, w.PutResource(&inventory.Resource{ARN: hostileURL, Type: "AWS::EC2::SecurityGroup", AccountID: acctB, Region: "us-east-1",
		Name: hostileScript, Tags: map[string]string{"x": hostileImg, "link": hostileURL, hostileScript: "k"},
		Config: json.RawMessage(`{"Description":` + jsonString(hostileScript+hostileImg) + `}`), CollectedAt: now,
		Errors: map[string]string{hostileScript: hostileImg}}))
	must(t, w.PutResource(&inventory.Resource{ARN: hostileSG, Type: "AWS::EC2::SecurityGroup", AccountID: acctA, Region: "us-east-1",
		Name: hostileImg, Config: json.RawMessage(`{}`), CollectedAt: now}))
	must(t, w.PutRelationship(inventory.Relationship{From: sgARN, To: hostileSG, Kind: "references"}))
	must(t, w.PutRelationship(inventory.Relationship{From: hostileURL, To: sgARN, Kind: "uses"}))
	must(t, w.Close())

	fw = db.NewFindingWriter(scan2)
	resolved := *oldFinding
	resolved.Status = finding.Pass
	must(t, fw.Put(&resolved))
	must(t, fw.Put(&finding.Finding{ID: "f-ssh", CheckID: "ec2.sg_ingress_ssh_world", Controls: []string{"fsbp:EC2.13"}, Source: "yagura",
		Status: finding.Fail, Severity: finding.High, AccountID: acctA, Region: "us-east-1", ResourceARN: sgARN, ResourceType: "AWS::EC2::SecurityGroup",
		Title: "SSH open to the internet", Detail: "port 22 from 0.0.0.0/0", Evidence: json.RawMessage(`{"CidrIp":"0.0.0.0/0","FromPort":22}`),
		Remediation: "Remove the rule.", Collector: "ec2.security-groups|" + acctA + "|us-east-1"}))
	must(t, fw.Put(&finding.Finding{ID: "f-hostile", CheckID: "ec2.sg_ingress_ssh_world", Controls: []string{hostileURL}, Source: "yagura",
		Status: finding.Fail, Severity: finding.Critical, AccountID: acctB, Region: "us-east-1", ResourceARN: hostileURL, ResourceType: "AWS::EC2::SecurityGroup",
		Title: hostileScript, Detail: hostileImg, Remediation: hostileURL,
		Evidence: json.RawMessage(`{"name":` + jsonString(hostileScript) + `,"tag":` + jsonString(hostileImg) + `}`)}))
	must(t, fw.Put(&finding.Finding{ID: "f-hostile-sg", CheckID: "ec2.sg_unused", Source: "yagura", Status: finding.Fail, Severity: finding.Low,
		AccountID: acctA, Region: "us-east-1", ResourceARN: hostileSG, Title: "Unused group " + hostileImg}))
	must(t, fw.Close())
	must(t, db.FinalizeFindings(ctx, scan2))
	must(t, db.FinishScan(ctx, scan2, store.ScanPartial, "1 task denied"))
	return db
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// client talks to a test server with a cookie jar and without following redirects, so tests
// see the 303s.
func client(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func newTestServer(t *testing.T, db *store.DB, token string) *httptest.Server {
	t.Helper()
	s, err := New(db, Options{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

func get(t *testing.T, c *http.Client, u string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func post(t *testing.T, c *http.Client, u string, form url.Values) *http.Response {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// csrfRE finds the session's CSRF token in a form field or in the page's meta tag.
var csrfRE = regexp.MustCompile(`name="csrf(?:-token)?" (?:value|content)="([0-9a-f]{64})"`)

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field in page:\n%s", body)
	}
	return m[1]
}

func TestPagesAnswerWithContent(t *testing.T) {
	ts := newTestServer(t, fixture(t), "")
	c := client(t)
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/", []string{"Scan #2", "partial", "1 task denied", acctA, "guardduty.detectors", "AccessDenied", "SSH open to the internet", "Bucket readable by everyone",
			`href="/findings?account=111111111111&amp;severity=high&amp;status=FAIL"`}},
		{"/accounts", []string{acctA, acctB, "prod", "denied"}},
		{"/findings?status=FAIL", []string{"SSH open to the internet", "1–3 of 3"}},
		{"/findings?status=FAIL&severity=critical", []string{"1–1 of 1", "&lt;script&gt;"}},
		{"/findings?status=FAIL&severity=high%2B", []string{"1–2 of 2", `<option value="high&#43;" selected>high and above</option>`}},
		{"/findings?status=FAIL&severity=high", []string{"1–1 of 1", `<option value="high" selected>high</option>`}},
		{"/findings?account=" + acctA + "&check=ec2.sg_ingress_ssh_world", []string{"SSH open to the internet", "1–1 of 1"}},
		{"/findings?control=fsbp:EC2.13&source=yagura&region=us-east-1", []string{"SSH open to the internet", "of 1 findings"}},
		{"/findings?resource=" + url.QueryEscape("arn:aws:s3:::*"), []string{"Bucket readable by everyone", "resolved"}},
		{"/findings?lifecycle=resolved", []string{"Bucket readable by everyone", "PASS"}},
		{"/findings?status=FAIL&limit=1&offset=1", []string{"2–2 of 3", "previous", "next"}},
		{"/findings/f-ssh", []string{"SSH open to the internet", "&#34;CidrIp&#34;: &#34;0.0.0.0/0&#34;", "Remove the rule.", "new", "fsbp:EC2.13"}},
		{"/findings/f-old", []string{"resolved", "Bucket readable by everyone"}},
		{"/resources/" + url.PathEscape(sgARN), []string{"web-sg", "env=prod", "&#34;GroupId&#34;: &#34;sg-0123&#34;", "SSH open to the internet", "references", "uses"}},
		{"/scans", []string{"#1", "#2", "complete", "partial"}},
		{"/coverage", []string{"1 of 2 tasks succeeded", "guardduty.detectors", "denied"}},
		{"/coverage?scan=1", []string{"1 of 1 tasks succeeded", "Scan #1"}},
		{"/static/style.css", []string{"font-family"}},
	} {
		resp, body := get(t, c, ts.URL+tc.path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d\n%s", tc.path, resp.StatusCode, body)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: missing %q", tc.path, w)
			}
		}
	}
	for _, p := range []string{"/findings/nope", "/resources/arn:aws:s3:::nope", "/coverage?scan=99"} {
		if resp, _ := get(t, c, ts.URL+p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
	for _, p := range []string{"/findings?status=BROKEN", "/findings?severity=huge", "/findings?limit=-1", "/coverage?scan=x"} {
		if resp, _ := get(t, c, ts.URL+p); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 400", p, resp.StatusCode)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	ts := newTestServer(t, fixture(t), "")
	for _, p := range []string{"/", "/api/v1/scans", "/findings/nope"} {
		resp, _ := get(t, client(t), ts.URL+p)
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		for _, w := range []string{"default-src 'self'", "frame-ancestors 'none'", "script-src 'self'"} {
			if !strings.Contains(csp, w) {
				t.Errorf("%s: CSP %q lacks %q", p, csp, w)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP allows inline code: %q", p, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", p, h)
		}
	}
	resp, _ := get(t, client(t), ts.URL+"/")
	var found bool
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			found = true
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
				t.Errorf("session cookie not HttpOnly/SameSite=Strict: %+v", c)
			}
		}
	}
	if !found {
		t.Error("no session cookie on the first page")
	}
}

func TestAPI(t *testing.T) {
	ts := newTestServer(t, fixture(t), "")
	c := client(t)
	decode := func(path string, v any) {
		t.Helper()
		resp, body := get(t, c, ts.URL+path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("GET %s: content type %q", path, ct)
		}
		if err := json.Unmarshal([]byte(body), v); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, body)
		}
	}
	var scans struct{ Scans []store.Scan }
	decode("/api/v1/scans", &scans)
	if len(scans.Scans) != 2 || scans.Scans[0].ID != 2 || scans.Scans[0].Status != store.ScanPartial {
		t.Errorf("scans: %+v", scans)
	}
	var accts struct {
		ScanID   int64 `json:"scan_id"`
		Accounts []store.Account
	}
	decode("/api/v1/accounts", &accts)
	if accts.ScanID != 2 || len(accts.Accounts) != 2 || accts.Accounts[1].Name != hostileScript {
		t.Errorf("accounts: %+v", accts)
	}
	var cov struct{ Coverage []store.Coverage }
	decode("/api/v1/coverage?scan=1", &cov)
	if len(cov.Coverage) != 1 || cov.Coverage[0].Status != store.CoverageOK {
		t.Errorf("coverage: %+v", cov)
	}
	var fl struct {
		Total, Limit, Offset int
		Findings             []finding.Finding
	}
	decode("/api/v1/findings?status=FAIL&severity=high%2B&limit=1", &fl)
	if fl.Total != 2 || fl.Limit != 1 || len(fl.Findings) != 1 || fl.Findings[0].ID != "f-hostile" {
		t.Errorf("findings high+ limit 1: %+v", fl)
	}
	decode("/api/v1/findings?status=FAIL&severity=high+&limit=1&offset=1", &fl)
	if len(fl.Findings) != 1 || fl.Findings[0].ID != "f-ssh" {
		t.Errorf("findings page 2: %+v", fl)
	}
	// Without "+", a severity is exact (as `yagura findings --severity high`); several may be listed.
	decode("/api/v1/findings?status=FAIL&severity=high", &fl)
	if fl.Total != 1 || fl.Findings[0].ID != "f-ssh" {
		t.Errorf("findings exactly high: %+v", fl)
	}
	decode("/api/v1/findings?status=FAIL&severity=low,critical", &fl)
	if fl.Total != 2 || fl.Findings[0].ID != "f-hostile" || fl.Findings[1].ID != "f-hostile-sg" {
		t.Errorf("findings low or critical: %+v", fl)
	}
	decode("/api/v1/findings?account="+acctB+","+acctA+"&status=fail", &fl)
	if fl.Total != 3 {
		t.Errorf("findings by two accounts: total %d", fl.Total)
	}
	var one struct {
		Finding finding.Finding
		Events  []store.FindingEvent
	}
	decode("/api/v1/findings/f-old", &one)
	if one.Finding.Lifecycle != finding.LifecycleResolved || len(one.Events) < 2 {
		t.Errorf("finding f-old: %+v", one)
	}
	var res struct {
		Resource         inventory.Resource
		RelationshipsOut []inventory.Relationship `json:"relationships_out"`
		RelationshipsIn  []inventory.Relationship `json:"relationships_in"`
		Findings         []finding.Finding
	}
	decode("/api/v1/resources/"+url.PathEscape(sgARN), &res)
	if res.Resource.Name != "web-sg" || len(res.RelationshipsOut) != 1 || res.RelationshipsOut[0].To != hostileSG ||
		len(res.RelationshipsIn) != 1 || res.RelationshipsIn[0].From != hostileURL || len(res.Findings) != 1 {
		t.Errorf("resource: %+v", res)
	}
	decode("/api/v1/resources/"+url.PathEscape(hostileSG), &res)
	if res.Resource.ARN != hostileSG || len(res.Findings) != 1 || res.Findings[0].ID != "f-hostile-sg" {
		t.Errorf("hostile resource: %+v", res)
	}
	for p, want := range map[string]int{"/api/v1/findings/nope": 404, "/api/v1/nope": 404, "/api/v1/findings?severity=x": 400,
		"/api/v1/resources/" + url.PathEscape("arn:aws:s3:::none"): 404} {
		resp, body := get(t, c, ts.URL+p)
		if resp.StatusCode != want || !strings.Contains(body, `"error"`) {
			t.Errorf("GET %s: %d %s, want %d with an error", p, resp.StatusCode, body, want)
		}
	}
	// JSON keeps markup escaped too, for clients that paste it into a page.
	if _, body := get(t, c, ts.URL+"/api/v1/findings"); strings.Contains(body, "<script>") {
		t.Error("API output contains raw <script>")
	}
}

func TestTokenRules(t *testing.T) {
	const token = "s3cret-token"
	ts := newTestServer(t, fixture(t), token)

	for _, tc := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer wrong", 401}, {"Basic " + token, 401}, {"Bearer " + token, 200}} {
		var hdr []string
		if tc.auth != "" {
			hdr = []string{"Authorization", tc.auth}
		}
		for _, p := range []string{"/api/v1/scans", "/api/v1/findings", "/api/v1/findings/f-ssh", "/api/v1/overview", "/api/v1/risks",
			"/api/v1/risks/f-ssh", "/api/v1/search?q=203.0.113.7", "/api/v1/compliance", "/api/v1/checks", "/api/v1/checks/ec2.sg_ingress_ssh_world",
			"/api/v1/scans/diff", "/api/v1/path/" + url.PathEscape(sgARN)} {
			if resp, body := get(t, client(t), ts.URL+p, hdr...); resp.StatusCode != tc.want {
				t.Errorf("GET %s with %q: %d, want %d\n%s", p, tc.auth, resp.StatusCode, tc.want, body)
			}
		}
	}
	// Pages: no session → login; the login form needs the right token.
	c := client(t)
	for _, p := range []string{"/", "/findings", "/resources/" + url.PathEscape(sgARN), "/risks", "/risks/f-ssh", "/path/sg-0123",
		"/search?q=203.0.113.7", "/compliance", "/checks", "/checks/ec2.sg_ingress_ssh_world", "/scans/diff"} {
		resp, _ := get(t, c, ts.URL+p)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
			t.Errorf("GET %s without login: %d %s", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// A bearer token works for pages as well (scripts, curl).
	if resp, _ := get(t, client(t), ts.URL+"/", "Authorization", "Bearer "+token); resp.StatusCode != 200 {
		t.Errorf("GET / with bearer: %d", resp.StatusCode)
	}
	if resp, _ := get(t, client(t), ts.URL+"/", "Authorization", "Bearer nope"); resp.StatusCode == 200 {
		t.Error("GET / with a wrong bearer token answered 200")
	}
	resp, body := get(t, c, ts.URL+"/login")
	if resp.StatusCode != 200 || !strings.Contains(body, `type="password"`) {
		t.Fatalf("login page: %d", resp.StatusCode)
	}
	csrf := csrfOf(t, body)
	if resp := post(t, c, ts.URL+"/login", url.Values{"csrf": {csrf}, "token": {"wrong"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("login with a wrong token: %d", resp.StatusCode)
	}
	if resp, _ := get(t, c, ts.URL+"/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after a failed login: %d", resp.StatusCode)
	}
	resp = post(t, c, ts.URL+"/login", url.Values{"csrf": {csrf}, "token": {token}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie && (!ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode) {
			t.Errorf("login cookie: %+v", ck)
		}
	}
	resp, body = get(t, c, ts.URL+"/")
	if resp.StatusCode != 200 || !strings.Contains(body, "SSH open to the internet") || !strings.Contains(body, "Log out") {
		t.Fatalf("overview after login: %d", resp.StatusCode)
	}
	// The browser session also opens the API (same origin, SameSite=Strict cookie).
	if resp, _ := get(t, c, ts.URL+"/api/v1/scans"); resp.StatusCode != 200 {
		t.Errorf("API with a logged-in session: %d", resp.StatusCode)
	}
	// Logging out ends the session.
	if resp := post(t, c, ts.URL+"/logout", url.Values{"csrf": {csrfOf(t, body)}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	if resp, _ := get(t, c, ts.URL+"/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout: %d, want a redirect to login", resp.StatusCode)
	}
}

func TestBindRules(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:8080": true, "[::1]:8080": true, "127.0.0.2:1": true,
		"0.0.0.0:8080": false, ":8080": false, "192.168.1.10:8080": false, "[::]:8080": false, "example.com:80": false,
	} {
		err := CheckBind(addr, "")
		if (err == nil) != ok {
			t.Errorf("CheckBind(%q, no token) = %v, want ok=%v", addr, err, ok)
		}
		if err := CheckBind(addr, "t"); err != nil {
			t.Errorf("CheckBind(%q, token) = %v", addr, err)
		}
	}
	// Serve itself refuses, before listening.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := Serve(ctx, nil, "0.0.0.0:0", Options{}, nil)
	if err == nil || !strings.Contains(err.Error(), "without a token") {
		t.Errorf("Serve on 0.0.0.0 without a token: %v", err)
	}
	// And serves on loopback until the context ends.
	db := fixture(t)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, db, "127.0.0.1:0", Options{}, func(u string) { ready <- u }) }()
	u := <-ready
	resp, body := get(t, client(t), u)
	if resp.StatusCode != 200 || !strings.Contains(body, "Overview") {
		t.Errorf("GET %s: %d", u, resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after cancel: %v", err)
	}
}

func TestCSRF(t *testing.T) {
	for _, token := range []string{"", "tok"} {
		ts := newTestServer(t, fixture(t), token)
		c := client(t)
		_, body := get(t, c, ts.URL+"/login")
		if token == "" {
			_, body = get(t, c, ts.URL+"/")
		}
		good := csrfOf(t, body)
		for name, form := range map[string]url.Values{
			"missing": {"token": {token}},
			"wrong":   {"token": {token}, "csrf": {strings.Repeat("0", 64)}},
			"empty":   {"token": {token}, "csrf": {""}},
		} {
			for _, p := range []string{"/login", "/logout", "/findings", "/api/v1/scans"} {
				if resp := post(t, c, ts.URL+p, form); resp.StatusCode != http.StatusForbidden {
					t.Errorf("token %q: POST %s with %s CSRF: %d, want 403", token, p, name, resp.StatusCode)
				}
			}
		}
		// Another client's valid token is worth nothing without its session.
		if resp := post(t, client(t), ts.URL+"/logout", url.Values{"csrf": {good}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("token %q: CSRF token from another session: %d", token, resp.StatusCode)
		}
		if token != "" {
			if resp := post(t, c, ts.URL+"/login", url.Values{"csrf": {good}, "token": {token}}); resp.StatusCode != http.StatusSeeOther {
				t.Errorf("login with the right CSRF token: %d", resp.StatusCode)
			}
			_, body = get(t, c, ts.URL+"/")
			good = csrfOf(t, body)
		}
		if resp := post(t, c, ts.URL+"/logout", url.Values{"csrf": {good}}); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("token %q: logout with the right CSRF token: %d", token, resp.StatusCode)
		}
	}
}

// TestHostileValuesRenderInert stores markup and javascript: URLs in every attacker-writable
// field (account name, email, tags, resource name, ARN, config, finding title, detail,
// evidence, coverage reason) and checks each page that shows them.
func TestHostileValuesRenderInert(t *testing.T) {
	ts := newTestServer(t, richFixture(t), "")
	c := client(t)
	pages := map[string]string{ // path → an escaped form the page must show
		"/":                          "&lt;script&gt;alert(1)&lt;/script&gt;",
		"/accounts":                  "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;",
		"/findings?status=FAIL":      "&lt;script&gt;alert(1)&lt;/script&gt;",
		"/findings?account=" + acctB: "&lt;script&gt;alert(1)&lt;/script&gt;",
		"/findings/f-hostile":        "&lt;script&gt;alert(1)&lt;/script&gt;",
		"/findings/f-hostile-sg":     "&lt;img src=x onerror=alert(1)&gt;",
		"/resources/" + url.PathEscape(hostileURL):         "&lt;script&gt;alert(1)&lt;/script&gt;",
		"/resources/" + url.PathEscape(hostileSG):          "&lt;img src=x onerror=alert(1)&gt;",
		"/resources/" + url.PathEscape(sgARN):              "&lt;img src=x onerror=alert(1)&gt;",
		"/coverage":                                        "AccessDenied &#34;&gt;&lt;img src=x onerror=alert(1)&gt;",
		"/findings?resource=" + url.QueryEscape(hostileSG): "&lt;img src=x onerror=alert(1)&gt;",
		"/risks":                                             "Bucket readable by everyone &lt;script&gt;alert(1)&lt;/script&gt;",
		"/risks?account=" + acctB:                            "&lt;script&gt;alert(1)&lt;/script&gt;",
		"/risks/f-path":                                      "tcp/22 from 0.0.0.0/0 &#34;&gt;&lt;img src=x onerror=alert(1)&gt;",
		"/risks/f-public":                                    "internet-exposed; data &#34;&gt;&lt;img src=x onerror=alert(1)&gt;",
		"/path/" + url.PathEscape(hostileSG):                 "Path of &#34;&gt;&lt;img src=x onerror=alert(1)&gt;",
		"/path/" + url.PathEscape(hostileURL):                "javascript:alert(1)",
		"/compliance?framework=cis-aws-3.0":                  "<td><a href=\"/compliance?account=222222222222&amp;framework=cis-aws-3.0\">222222222222</a> &lt;script&gt;alert(1)&lt;/script&gt;</td>",
		"/compliance?account=" + url.QueryEscape(hostileImg): "Account &#34;&gt;&lt;img src=x onerror=alert(1)&gt;",
		"/scans/diff":                                        "&lt;script&gt;alert(1)&lt;/script&gt;",
		"/checks":                                            "Hostile &lt;script&gt;alert(1)&lt;/script&gt;",
		"/checks/zz.hostile":                                 "&lt;script&gt;alert(1)&lt;/script&gt;",
		"/search?q=203.0.113.7":                              "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>",
		"/search?q=" + url.QueryEscape(hostileScript):        "&lt;script&gt;alert(1)&lt;/script&gt;",
	}
	hrefJS := regexp.MustCompile(`(?i)(href|src|action)\s*=\s*["']?\s*javascript:`)
	for p, escaped := range pages {
		resp, body := get(t, c, ts.URL+p)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
			continue
		}
		if !strings.Contains(body, escaped) {
			t.Errorf("GET %s: escaped form %q not shown", p, escaped)
		}
		for _, raw := range []string{"<script", "<img", "onerror=alert(1)>"} {
			if i := strings.Index(body, raw); i >= 0 && !(raw == "onerror=alert(1)>" && strings.Contains(body[max(0, i-20):i], "&lt;img")) {
				t.Errorf("GET %s: raw %q in the page: …%s…", p, raw, body[max(0, i-60):min(len(body), i+60)])
			}
		}
		if m := hrefJS.FindString(body); m != "" {
			t.Errorf("GET %s: javascript: link %q", p, m)
		}
	}
	// The hostile ARN is linked, but only as an escaped same-origin path.
	_, body := get(t, c, ts.URL+"/findings/f-hostile")
	if !strings.Contains(body, `href="/resources/javascript:alert%281%29"`) {
		t.Errorf("hostile ARN link not a local path:\n%s", body)
	}
}

func TestLocalURL(t *testing.T) {
	for in, want := range map[string]string{
		"/findings": "/findings", "javascript:alert(1)": "#", "//evil.example/x": "#", `/\evil.example`: "#", "https://x": "#",
	} {
		if got := localURL(in); got != want {
			t.Errorf("localURL(%q) = %q, want %q", in, got, want)
		}
	}
	if got := resourceURL("javascript:alert(1)"); !strings.HasPrefix(got, "/resources/") {
		t.Errorf("resourceURL of a hostile ARN: %q", got)
	}
	if got := exactGlob("arn:aws:s3:::a*b?[c"); got != "arn:aws:s3:::a[*]b[?][[]c" {
		t.Errorf("exactGlob: %q", got)
	}
}

func TestMute(t *testing.T) {
	db := fixture(t)
	ts := newTestServer(t, db, "")
	c := client(t)
	_, body := get(t, c, ts.URL+"/findings/f-ssh")
	csrf := csrfOf(t, body)
	if !strings.Contains(body, `action="/findings/f-ssh/mute"`) {
		t.Fatalf("no mute form on the finding page")
	}
	// Without or with a wrong CSRF token nothing is stored.
	for _, form := range []url.Values{{"reason": {"accepted"}}, {"reason": {"accepted"}, "csrf": {strings.Repeat("a", 64)}}} {
		if resp := post(t, c, ts.URL+"/findings/f-ssh/mute", form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("mute without a valid CSRF token: %d", resp.StatusCode)
		}
	}
	if m, err := db.MuteOf(context.Background(), "f-ssh"); err != nil || m != nil {
		t.Fatalf("mute stored without CSRF: %+v %v", m, err)
	}
	// Missing reason and a past expiry are refused.
	for _, form := range []url.Values{{"csrf": {csrf}}, {"csrf": {csrf}, "reason": {"x"}, "expires": {"2001-01-01"}}, {"csrf": {csrf}, "reason": {"x"}, "expires": {"soon"}}} {
		resp := post(t, c, ts.URL+"/findings/f-ssh/mute", form)
		if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "error=") {
			t.Errorf("bad mute %v: %d %s", form, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if m, _ := db.MuteOf(context.Background(), "f-ssh"); m != nil {
		t.Fatalf("invalid mute stored: %+v", m)
	}
	if resp := post(t, c, ts.URL+"/findings/nope/mute", url.Values{"csrf": {csrf}, "reason": {"x"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("mute of an unknown finding: %d", resp.StatusCode)
	}
	until := time.Now().UTC().AddDate(0, 1, 0).Format("2006-01-02")
	resp := post(t, c, ts.URL+"/findings/f-ssh/mute", url.Values{"csrf": {csrf}, "reason": {"bastion " + hostileScript}, "expires": {until}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/findings/f-ssh" {
		t.Fatalf("mute: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	m, err := db.MuteOf(context.Background(), "f-ssh")
	if err != nil || m == nil || m.Reason != "bastion "+hostileScript || m.Expires == nil || m.Expires.Format("2006-01-02") != until {
		t.Fatalf("stored mute: %+v %v", m, err)
	}
	_, body = get(t, c, ts.URL+"/findings/f-ssh")
	if !strings.Contains(body, "Muted: bastion &lt;script&gt;") || strings.Contains(body, "<script") {
		t.Errorf("finding page after mute does not show it (escaped)")
	}
	_, body = get(t, c, ts.URL+"/findings?check=ec2.sg_ingress_ssh_world&account="+acctA)
	if !strings.Contains(body, `<span class="muted" title="bastion &lt;script&gt;alert(1)&lt;/script&gt;">muted</span>`) {
		t.Errorf("findings list does not mark the muted finding")
	}
	var list struct{ Findings []finding.Finding }
	_, body = get(t, c, ts.URL+"/api/v1/findings?status=FAIL")
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	for _, f := range list.Findings {
		if f.Muted != (f.ID == "f-ssh") {
			t.Errorf("API list: %s muted=%v", f.ID, f.Muted)
		}
	}
	var api struct {
		Mute   *store.Mute
		Events []store.FindingEvent
	}
	_, body = get(t, c, ts.URL+"/api/v1/findings/f-ssh")
	if err := json.Unmarshal([]byte(body), &api); err != nil || api.Mute == nil || api.Events[len(api.Events)-1].Event != "muted" {
		t.Errorf("API after mute: %s", body)
	}
	if resp := post(t, c, ts.URL+"/findings/f-ssh/unmute", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("unmute: %d", resp.StatusCode)
	}
	if m, _ := db.MuteOf(context.Background(), "f-ssh"); m != nil {
		t.Errorf("mute left after unmute: %+v", m)
	}
	// An expired mute is shown as expired and no longer marks the finding.
	past := time.Now().Add(-time.Hour)
	must(t, db.PutMute(context.Background(), store.Mute{FindingID: "f-hostile", Reason: "old", Expires: &past, CreatedAt: past.Add(-time.Hour)}))
	_, body = get(t, c, ts.URL+"/findings/f-hostile")
	if !strings.Contains(body, "Mute expired: old") || strings.Contains(body, `class="muted"`) {
		t.Errorf("expired mute not shown as expired")
	}
	_, body = get(t, c, ts.URL+"/api/v1/findings?status=FAIL")
	if strings.Contains(body, `"muted": true`) {
		t.Errorf("expired mute still mutes: %s", body)
	}
}

// A finding muted by the stored mutelist (yagura mutelist import) shows muted on its page and in
// the API, as in the lists and the CLI; it has no dashboard mute to lift.
func TestStoredMutelistAppliesToFindingDetail(t *testing.T) {
	db := fixture(t)
	doc := []byte("mutes:\n  - reason: bastion reviewed by security\n    checks: [ec2.sg_ingress_ssh_world]\n")
	if _, err := db.ImportMutelist(context.Background(), doc, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, db, "")
	c := client(t)
	if _, body := get(t, c, ts.URL+"/findings/f-ssh"); !strings.Contains(body, "bastion reviewed by security") {
		t.Errorf("finding page does not show the stored mutelist's reason")
	}
	_, body := get(t, c, ts.URL+"/api/v1/findings/f-ssh")
	var v struct {
		Finding struct {
			Muted      bool   `json:"muted"`
			MuteReason string `json:"mute_reason"`
		} `json:"finding"`
		Mute *store.Mute `json:"mute"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	if !v.Finding.Muted || !strings.Contains(v.Finding.MuteReason, "bastion reviewed") || v.Mute != nil {
		t.Errorf("API finding: muted %v reason %q dashboard mute %+v", v.Finding.Muted, v.Finding.MuteReason, v.Mute)
	}
}
