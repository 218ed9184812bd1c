package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/yagura-dev/yagura/internal/check"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/netsearch"
	"github.com/yagura-dev/yagura/internal/risk"
	"github.com/yagura-dev/yagura/internal/store"
)

const (
	publicBucket = "arn:aws:s3:::public-data"
	searchSG     = "arn:aws:ec2:us-east-1:222222222222:security-group/sg-0b"
	instanceARN  = "arn:aws:ec2:us-east-1:111111111111:instance/i-0abc"
	// hostileRole is a role whose name an attacker chose (IAM allows +=,.@_- only, but the
	// dashboard must not rely on AWS's validation).
	hostileRole = `arn:aws:iam::111111111111:role/<script>alert(1)</script>`
)

// richFixture is fixture plus what the risk, compliance and search pages read, in scan 2: a
// public bucket with hostile tags, a scored finding, an attack path through hostile names, and
// compliance results in both accounts.
func richFixture(t testing.TB) *store.DB {
	t.Helper()
	db := fixture(t)
	const scan2 = 2
	w := db.NewWriter(scan2)
	now := time.Now().UTC()
	must(t, w.PutResource(&inventory.Resource{ARN: publicBucket, Type: risk.TypeBucket, AccountID: acctA, Region: "us-east-1",
		Name: hostileImg, Tags: map[string]string{"DataClassification": hostileScript}, Config: json.RawMessage(`{"Name":"public-data"}`), CollectedAt: now}))
	ipp := `{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"IpRanges":[{"CidrIp":"203.0.113.0/24","Description":` + jsonString(hostileScript+hostileImg) + `}]}`
	must(t, w.PutResource(&inventory.Resource{ARN: searchSG, Type: risk.TypeSG, AccountID: acctB, Region: "us-east-1", Name: hostileScript,
		Config: json.RawMessage(`{"GroupId":"sg-0b","GroupName":"b","VpcId":"vpc-1","IpPermissions":[` + ipp + `],"IpPermissionsEgress":[]}`), CollectedAt: now}))
	must(t, w.Close())
	chain, _ := json.Marshal(map[string]any{"chain": []risk.Hop{
		{ARN: "internet", Type: "internet"},
		{ARN: hostileSG, Type: risk.TypeSG, Via: "tcp/22 from 0.0.0.0/0 " + hostileImg},
		{ARN: instanceARN, Type: risk.TypeInstance, Via: "public IP 198.51.100.4"},
		{ARN: hostileRole, Type: risk.TypeRole, Via: "credentials of the workload (CVE-2024-0001 " + hostileScript + ")"},
		{ARN: publicBucket, Type: risk.TypeBucket, Via: "read via s3:GetObject " + hostileURL},
	}})
	fw := db.NewFindingWriter(scan2)
	must(t, fw.Put(&finding.Finding{ID: "f-public", CheckID: "s3.bucket_public_read", Controls: []string{"cis-aws-3.0:2.1.4", "fsbp:S3.2"},
		Source: "yagura", Status: finding.Fail, Severity: finding.High, AccountID: acctA, Region: "us-east-1", ResourceARN: publicBucket,
		ResourceType: risk.TypeBucket, Title: "Bucket readable by everyone " + hostileScript, Collector: "s3.buckets|" + acctA + "|global",
		Risk: &finding.Risk{Score: 71.5, Reason: "internet-exposed; data " + hostileImg, Factors: map[string]float64{risk.FSeverity: 0.75, risk.FExposure: 1, risk.FData: 1},
			Path: []string{"internet", publicBucket}}}))
	must(t, fw.Put(&finding.Finding{ID: "f-path", CheckID: risk.CheckAttackPath, Source: "yagura", Status: finding.Fail, Severity: finding.Critical,
		AccountID: acctA, Region: "us-east-1", ResourceARN: instanceARN, ResourceType: risk.TypeInstance,
		Title: "Attack path: internet → i-0abc → role " + hostileScript + " → public-data", Evidence: chain,
		Risk: &finding.Risk{Score: 93.2, Reason: "exploitable CVE; internet-exposed", Factors: map[string]float64{risk.FSeverity: 1, risk.FExploitability: 0.9, risk.FExposure: 1},
			Path: []string{"internet", hostileSG, instanceARN, hostileRole, publicBucket}}}))
	must(t, fw.Put(&finding.Finding{ID: "f-pass-b", CheckID: "s3.bucket_public_read", Controls: []string{"cis-aws-3.0:2.1.4", "fsbp:S3.2"},
		Source: "yagura", Status: finding.Pass, Severity: finding.High, AccountID: acctB, Region: "us-east-1", ResourceARN: "arn:aws:s3:::private-b",
		ResourceType: risk.TypeBucket, Title: "Bucket not public"}))
	must(t, fw.Close())
	return db
}

// TestRiskPages checks the ranked queue (same order and items as `yagura top`, through
// store.RiskQueue), a ranked item with its factors and attack-path graph, and the path page.
func TestRiskPages(t *testing.T) {
	db := richFixture(t)
	ts := newTestServer(t, db, "")
	c := client(t)

	resp, body := get(t, c, ts.URL+"/risks")
	if resp.StatusCode != 200 {
		t.Fatalf("/risks: %d\n%s", resp.StatusCode, body)
	}
	// Highest score first, then the unscored ones.
	iPath, iPublic, iSSH := strings.Index(body, "/risks/f-path"), strings.Index(body, "/risks/f-public"), strings.Index(body, "/risks/f-ssh")
	if !(iPath > 0 && iPath < iPublic && iPublic < iSSH) {
		t.Errorf("queue order: f-path %d, f-public %d, f-ssh %d", iPath, iPublic, iSSH)
	}
	for _, w := range []string{`id="risk-queue"`, `class="risk-row"`, "93.2", "exploitable CVE; internet-exposed", "exposure 1.00", "1–5 of 5"} {
		if !strings.Contains(body, w) {
			t.Errorf("/risks: missing %q", w)
		}
	}
	if strings.Contains(body, "/risks/f-old") {
		t.Error("/risks lists a resolved finding")
	}
	_, body = get(t, c, ts.URL+"/risks?account="+acctB)
	if !strings.Contains(body, "/risks/f-hostile") || strings.Contains(body, "/risks/f-path") || !strings.Contains(body, "of 1 risks") {
		t.Errorf("/risks?account=B: not filtered")
	}
	_, body = get(t, c, ts.URL+"/risks?limit=2&offset=2")
	if !strings.Contains(body, "3–4 of 5") || !strings.Contains(body, `<td class="rank">3</td>`) || !strings.Contains(body, "next") {
		t.Errorf("/risks page 2 wrong")
	}

	resp, body = get(t, c, ts.URL+"/risks/f-path")
	if resp.StatusCode != 200 {
		t.Fatalf("/risks/f-path: %d", resp.StatusCode)
	}
	for _, w := range []string{`<svg id="attack-path"`, `class="node node-internet"`, `class="node node-role"`, `class="node node-data"`,
		"public IP 198.51.100.4", `id="risk-factors"`, "exploitability", "93.2"} {
		if !strings.Contains(body, w) {
			t.Errorf("/risks/f-path: missing %q", w)
		}
	}
	// The instance is not in this scan's inventory, so the path page would be a 404: no link.
	if strings.Contains(body, `id="path-link"`) {
		t.Errorf("/risks/f-path links the path page of a resource the inventory lacks")
	}
	// Five hops, four edges, each edge labelled by its hop's rule.
	if n := strings.Count(body, `<g class="node `); n != 5 {
		t.Errorf("/risks/f-path: %d nodes, want 5", n)
	}
	if n := strings.Count(body, `<g class="edge" `); n != 4 {
		t.Errorf("/risks/f-path: %d edges, want 4", n)
	}
	// A scored finding that is not an attack path draws its exposure path.
	_, body = get(t, c, ts.URL+"/risks/f-public")
	if !strings.Contains(body, `<svg id="attack-path"`) || strings.Count(body, `<g class="node `) != 2 {
		t.Errorf("/risks/f-public: no two-node path")
	}
	if !strings.Contains(body, `<a id="path-link" href="/path/arn:aws:s3:::public-data">`) {
		t.Errorf("/risks/f-public: no link to the bucket's path page")
	}
	// The finding and resource pages lead to the risk item and the path.
	if _, body := get(t, c, ts.URL+"/findings/f-public"); !strings.Contains(body, `<a id="risk-link" href="/risks/f-public">score 71.5</a>`) ||
		!strings.Contains(body, `href="/checks/s3.bucket_public_read"`) {
		t.Errorf("/findings/f-public: no risk or check link")
	}
	if _, body := get(t, c, ts.URL+"/resources/"+url.PathEscape(publicBucket)); !strings.Contains(body, `<a id="path-link" href="/path/arn:aws:s3:::public-data">`) {
		t.Errorf("/resources/public-data: no path link")
	}
	if resp, _ := get(t, c, ts.URL+"/risks/nope"); resp.StatusCode != 404 {
		t.Errorf("/risks/nope: %d", resp.StatusCode)
	}

	// The path page runs `yagura path`: the bucket is public per its FAIL finding.
	resp, body = get(t, c, ts.URL+"/path/"+url.PathEscape(publicBucket))
	if resp.StatusCode != 200 {
		t.Fatalf("/path: %d\n%s", resp.StatusCode, body)
	}
	want, err := risk.PathReport(context.Background(), db, 2, publicBucket)
	if err != nil || !want.Exposed {
		t.Fatalf("PathReport: %+v %v", want, err)
	}
	for _, w := range []string{`<svg id="attack-path"`, "Reachable from the internet", "public per findings f-public", `class="node node-internet"`} {
		if !strings.Contains(body, w) {
			t.Errorf("/path: missing %q", w)
		}
	}
	// A bare name resolves as in the CLI.
	if resp, _ := get(t, c, ts.URL+"/path/public-data"); resp.StatusCode != 200 {
		t.Errorf("/path/public-data: %d", resp.StatusCode)
	}
	if resp, body := get(t, c, ts.URL+"/path/nothing-here"); resp.StatusCode != 404 || !strings.Contains(body, "no resource &#34;nothing-here&#34; in scan 2") {
		t.Errorf("/path/nothing-here: %d", resp.StatusCode)
	}

	// API: the same queue and items.
	var q struct {
		Total int64
		Items []struct {
			Rank int
			ID   string
		}
	}
	_, body = get(t, c, ts.URL+"/api/v1/risks?limit=2")
	if err := json.Unmarshal([]byte(body), &q); err != nil || q.Total != 5 || len(q.Items) != 2 || q.Items[0].ID != "f-path" || q.Items[1].Rank != 2 {
		t.Errorf("/api/v1/risks: %v %s", err, body)
	}
	var item struct {
		Finding finding.Finding
		Path    []risk.Hop
	}
	_, body = get(t, c, ts.URL+"/api/v1/risks/f-path")
	if err := json.Unmarshal([]byte(body), &item); err != nil || len(item.Path) != 5 || item.Path[3].ARN != hostileRole {
		t.Errorf("/api/v1/risks/f-path: %v %s", err, body)
	}
	var pr struct {
		ScanID int64       `json:"scan_id"`
		Report risk.Report `json:"report"`
	}
	_, body = get(t, c, ts.URL+"/api/v1/path/"+url.PathEscape(publicBucket))
	if err := json.Unmarshal([]byte(body), &pr); err != nil || pr.ScanID != 2 || !pr.Report.Exposed || pr.Report.Resource != publicBucket {
		t.Errorf("/api/v1/path: %v %s", err, body)
	}
	if resp, _ := get(t, c, ts.URL+"/api/v1/path/nothing-here"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/api/v1/path/nothing-here: %d", resp.StatusCode)
	}
}

// TestSearchPage runs the IP/CIDR search of `yagura find` and compares with netsearch.Find.
func TestSearchPage(t *testing.T) {
	db := richFixture(t)
	ts := newTestServer(t, db, "")
	c := client(t)
	resp, body := get(t, c, ts.URL+"/search")
	if resp.StatusCode != 200 || !strings.Contains(body, `id="search-form"`) || !strings.Contains(body, `name="q"`) || strings.Contains(body, `id="search-results"`) {
		t.Fatalf("/search without a query: %d", resp.StatusCode)
	}
	resp, body = get(t, c, ts.URL+"/search?q=203.0.113.7")
	if resp.StatusCode != 200 {
		t.Fatalf("/search: %d\n%s", resp.StatusCode, body)
	}
	q, err := netsearch.ParseQuery("203.0.113.7", false, netsearch.QueryOptions{Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	want, err := netsearch.Find(context.Background(), db, 2, q)
	if err != nil || len(want) != 1 {
		t.Fatalf("netsearch.Find: %v %v", want, err)
	}
	for _, w := range []string{`id="search-results"`, `class="match-row"`, "1 rules concern 203.0.113.7/32", want[0].ResourceARN[:40], "<td>" + want[0].Ports + "</td>", want[0].MatchDetail} {
		if !strings.Contains(body, w) {
			t.Errorf("/search: missing %q", w)
		}
	}
	if n := strings.Count(body, `class="match-row"`); n != len(want) {
		t.Errorf("/search: %d rows, want %d", n, len(want))
	}
	for p, rows := range map[string]int{
		"/search?q=203.0.113.0/24&mode=contains": 1, "/search?q=203.0.0.0/16&mode=within": 1, "/search?q=192.0.2.1": 0,
		"/search?q=203.0.113.7&port=22&protocol=tcp&direction=ingress": 1, "/search?q=203.0.113.7&port=80": 0,
		"/search?q=203.0.113.7&direction=egress": 0,
	} {
		resp, body := get(t, c, ts.URL+p)
		if resp.StatusCode != 200 || strings.Count(body, `class="match-row"`) != rows || !strings.Contains(body, `id="search-results"`) {
			t.Errorf("GET %s: %d, %d rows, want %d", p, resp.StatusCode, strings.Count(body, `class="match-row"`), rows)
		}
	}
	// Bad input is explained beside the form, with the CLI's words.
	for _, p := range []string{"/search?q=not-an-ip", "/search?q=203.0.113.7&mode=within", "/search?q=10.0.0.1&port=99999", "/search?q=10.0.0.1&protocol=icmp&port=1"} {
		resp, body := get(t, c, ts.URL+p)
		if resp.StatusCode != 200 || !strings.Contains(body, `id="search-error"`) {
			t.Errorf("GET %s: %d, no error shown", p, resp.StatusCode)
		}
	}
	var api struct {
		ScanID  int64             `json:"scan_id"`
		Query   string            `json:"query"`
		Mode    string            `json:"mode"`
		Matches []netsearch.Match `json:"matches"`
	}
	_, body = get(t, c, ts.URL+"/api/v1/search?q=203.0.113.7")
	if err := json.Unmarshal([]byte(body), &api); err != nil || api.ScanID != 2 || api.Query != "203.0.113.7/32" || len(api.Matches) != 1 ||
		api.Matches[0].ResourceARN != searchSG {
		t.Errorf("/api/v1/search: %v %s", err, body)
	}
	for p, code := range map[string]int{"/api/v1/search": 400, "/api/v1/search?q=x": 400, "/api/v1/search?q=10.0.0.0/8&mode=overlaps": 200} {
		if resp, body := get(t, c, ts.URL+p); resp.StatusCode != code {
			t.Errorf("GET %s: %d %s, want %d", p, resp.StatusCode, body, code)
		}
	}
}

// hostileCheck is a catalog entry with markup in every text and a javascript: documentation
// link. The catalog is code, not attacker input, but a check contributed with a bad link must
// still not become a script link.
var hostileCheck = &check.Check{ID: "zz.hostile", Title: "Hostile " + hostileScript, Description: hostileImg, Severity: finding.Low,
	ResourceType: hostileScript, Controls: []string{"fsbp:ZZ.1"}, Risk: hostileImg,
	Remediation: check.Remediation{CLI: "aws s3 rm " + hostileScript, Console: hostileImg, Doc: hostileURL},
	Eval:        func(*check.Env, *check.Res) check.Result { return check.Result{} }}

func init() { check.Register(hostileCheck) }

// TestChecksPages lists the catalog (as `yagura checks list`) with current results, and shows a
// check's description, controls, risk and remediation.
func TestChecksPages(t *testing.T) {
	ts := newTestServer(t, richFixture(t), "")
	c := client(t)
	resp, body := get(t, c, ts.URL+"/checks")
	if resp.StatusCode != 200 {
		t.Fatalf("/checks: %d", resp.StatusCode)
	}
	all, _ := check.Catalog("")
	if n := strings.Count(body, `class="check-row"`); n != len(all) || n < 10 {
		t.Errorf("/checks: %d rows, catalog has %d", n, len(all))
	}
	// s3.bucket_public_read: f-public FAIL; f-old (fixed) and f-pass-b PASS.
	if !strings.Contains(body, `href="/findings?check=s3.bucket_public_read&amp;lifecycle=new%2Copen&amp;status=FAIL">1</a>`) {
		t.Errorf("/checks: failing count link of s3.bucket_public_read missing")
	}
	_, body = get(t, c, ts.URL+"/checks?framework=cis-aws-3.0")
	cis, _ := check.Catalog("cis-aws-3.0")
	if n := strings.Count(body, `class="check-row"`); n != len(cis) || n >= len(all) {
		t.Errorf("/checks?framework=cis: %d rows, want %d", n, len(cis))
	}
	if resp, _ := get(t, c, ts.URL+"/checks?framework=nist"); resp.StatusCode != 400 {
		t.Errorf("/checks?framework=nist: %d", resp.StatusCode)
	}
	ec := check.ByID("ec2.sg_ingress_ssh_world")
	if ec == nil {
		t.Skip("catalog has no ec2.sg_ingress_ssh_world")
	}
	resp, body = get(t, c, ts.URL+"/checks/ec2.sg_ingress_ssh_world")
	if resp.StatusCode != 200 {
		t.Fatalf("/checks/{id}: %d", resp.StatusCode)
	}
	for _, w := range []string{`id="check-description"`, `id="check-remediation"`, `id="check-props"`, ec.Severity.String()} {
		if !strings.Contains(body, w) {
			t.Errorf("/checks/ec2.sg_ingress_ssh_world: missing %q", w)
		}
	}
	if ec.Remediation.Doc != "" && !strings.Contains(body, `class="doc-link" href="`+ec.Remediation.Doc+`"`) {
		t.Errorf("doc link %q not a link", ec.Remediation.Doc)
	}
	for _, ctl := range ec.Controls {
		if !strings.Contains(body, ">"+ctl+"</a>") {
			t.Errorf("control %s not linked", ctl)
		}
	}
	if resp, _ := get(t, c, ts.URL+"/checks/nope"); resp.StatusCode != 404 {
		t.Errorf("/checks/nope: %d", resp.StatusCode)
	}
	// The javascript: documentation link is text, not a link.
	_, body = get(t, c, ts.URL+"/checks/zz.hostile")
	if strings.Contains(body, `class="doc-link"`) || !strings.Contains(body, `<span class="doc-text">javascript:alert(1)</span>`) {
		t.Errorf("hostile doc URL rendered as a link")
	}
	var api struct {
		Checks []struct {
			ID     string
			Scope  string
			Counts store.StatusCounts
		}
	}
	_, body = get(t, c, ts.URL+"/api/v1/checks?framework=fsbp")
	if err := json.Unmarshal([]byte(body), &api); err != nil || len(api.Checks) != len(check.Framework("fsbp")) {
		t.Fatalf("/api/v1/checks: %v", err)
	}
	var one struct {
		ID          string
		Remediation check.Remediation
		Counts      store.StatusCounts
	}
	_, body = get(t, c, ts.URL+"/api/v1/checks/s3.bucket_public_read")
	if err := json.Unmarshal([]byte(body), &one); err != nil || one.ID != "s3.bucket_public_read" || one.Counts.Fail != 1 || one.Counts.Pass != 2 {
		t.Errorf("/api/v1/checks/s3.bucket_public_read: %v %s", err, body)
	}
}

func TestExternalURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://docs.aws.amazon.com/x": "https://docs.aws.amazon.com/x", "http://a.example/b": "http://a.example/b",
		"javascript:alert(1)": "", " JavaScript:alert(1)": "", "data:text/html,x": "", "//evil.example": "", "/local": "", "https:///nohost": "",
	} {
		if got := externalURL(in); got != want {
			t.Errorf("externalURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCompliancePage checks pass rates per control and per account, the account drill-down and
// the links to the failing findings of a control.
func TestCompliancePage(t *testing.T) {
	ts := newTestServer(t, richFixture(t), "")
	c := client(t)
	resp, body := get(t, c, ts.URL+"/compliance?framework=cis-aws-3.0")
	if resp.StatusCode != 200 {
		t.Fatalf("/compliance: %d\n%s", resp.StatusCode, body)
	}
	// 2.1.4: f-public FAIL in A, f-pass-b PASS in B.
	for _, w := range []string{`id="compliance-controls"`, `id="compliance-accounts"`, `class="control-row" id="control-cis-aws-3.0:2.1.4"`,
		`href="/findings?control=cis-aws-3.0%3A2.1.4&amp;lifecycle=new%2Copen&amp;status=FAIL">1</a>`, "50.0%", "100.0%", "0.0%",
		`href="/compliance?account=111111111111&amp;framework=cis-aws-3.0"`} {
		if !strings.Contains(body, w) {
			t.Errorf("/compliance: missing %q", w)
		}
	}
	// Every CIS recommendation is listed, assessed or not.
	if n, want := strings.Count(body, `class="control-row"`), len(check.Coverage("cis-aws-3.0")); n != want {
		t.Errorf("/compliance: %d controls, want %d", n, want)
	}
	// Worst account first.
	if strings.Index(body, `<a href="/compliance?account=111111111111`) > strings.Index(body, `<a href="/compliance?account=222222222222`) {
		t.Error("/compliance: accounts not worst first")
	}
	// The drill-down link lists exactly the failing finding.
	_, body = get(t, c, ts.URL+"/findings?control=cis-aws-3.0%3A2.1.4&lifecycle=new%2Copen&status=FAIL")
	if !strings.Contains(body, "/findings/f-public") || strings.Count(body, `href="/findings/f-`) != 1 {
		t.Errorf("drill-down does not list only f-public")
	}
	_, body = get(t, c, ts.URL+"/compliance?framework=cis-aws-3.0&account="+acctB)
	if !strings.Contains(body, "Account 222222222222:</strong> ") || !strings.Contains(body, `&amp;account=222222222222`) && !strings.Contains(body, "100.0%") {
		t.Errorf("/compliance?account=B: not narrowed")
	}
	var api compliance
	_, body = get(t, c, ts.URL+"/api/v1/compliance?framework=fsbp")
	if err := json.Unmarshal([]byte(body), &api); err != nil {
		t.Fatalf("/api/v1/compliance: %v", err)
	}
	rates := map[string]*float64{}
	for _, r := range api.Controls {
		rates[r.ID] = r.PassRate
	}
	if api.Overall.Pass != 1 || api.Overall.Fail != 2 || api.Overall.PassRate == nil || *api.Overall.PassRate != 33.3 ||
		rates["fsbp:EC2.13"] == nil || *rates["fsbp:EC2.13"] != 0 || rates["fsbp:S3.2"] == nil || *rates["fsbp:S3.2"] != 50 {
		t.Errorf("/api/v1/compliance fsbp: %s", body)
	}
	if p, ok := rates["fsbp:ZZ.1"]; !ok || p != nil {
		t.Errorf("a mapped control without results must be listed unassessed: %v %v", ok, p)
	}
	_, body = get(t, c, ts.URL+"/api/v1/compliance?framework=fsbp&account="+acctA)
	if err := json.Unmarshal([]byte(body), &api); err != nil || api.Overall.Pass != 0 || api.Overall.Fail != 2 {
		t.Errorf("/api/v1/compliance for A: %v %s", err, body)
	}
	for _, p := range []string{"/compliance?framework=iso", "/api/v1/compliance?framework=iso"} {
		if resp, _ := get(t, c, ts.URL+p); resp.StatusCode != 400 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
}

// TestScansDiffPage compares the two fixture scans as `yagura diff` does (store.FindingChanges).
func TestScansDiffPage(t *testing.T) {
	db := richFixture(t)
	ts := newTestServer(t, db, "")
	c := client(t)
	_, body := get(t, c, ts.URL+"/scans")
	if !strings.Contains(body, `class="diff-link" href="/scans/diff?to=2"`) || !strings.Contains(body, `id="diff-form"`) {
		t.Errorf("/scans: no diff link or form")
	}
	// The first scan has nothing before it to compare with.
	if strings.Contains(body, `href="/scans/diff?to=1"`) {
		t.Errorf("/scans: diff link on the first scan")
	}
	want, err := db.FindingChanges(context.Background(), 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/scans/diff", "/scans/diff?to=2", "/scans/diff?from=1&to=2"} {
		resp, body := get(t, c, ts.URL+p)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d\n%s", p, resp.StatusCode, body)
		}
		if n := strings.Count(body, `class="diff-row `); n != len(want) || n != 6 {
			t.Errorf("GET %s: %d rows, want %d (6)", p, n, len(want))
		}
		for _, w := range []string{`id="diff-findings"`, `<li class="change-new"><a href="#change-new">new: <span class="n">5</span>`,
			`<li class="change-resolved"><a href="#change-resolved">resolved: <span class="n">1</span>`, `class="diff-row change-resolved" id="change-resolved"`,
			"/findings/f-old"} {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: missing %q", p, w)
			}
		}
	}
	// Worst new first, resolved after every new one.
	_, body = get(t, c, ts.URL+"/scans/diff")
	if strings.Index(body, "/findings/f-hostile-sg") > strings.Index(body, "/findings/f-old") ||
		strings.Index(body, "/findings/f-path") > strings.Index(body, "/findings/f-ssh") {
		t.Error("diff rows not in change, severity order")
	}
	for p, code := range map[string]int{"/scans/diff?from=2&to=1": 400, "/scans/diff?from=2&to=2": 400, "/scans/diff?to=1": 400,
		"/scans/diff?to=99": 400, "/scans/diff?from=x": 400, "/api/v1/scans/diff?from=2&to=1": 400} {
		if resp, _ := get(t, c, ts.URL+p); resp.StatusCode != code {
			t.Errorf("GET %s: %d, want %d", p, resp.StatusCode, code)
		}
	}
	var api struct {
		From, To int64
		Counts   map[string]int
		Findings []store.FindingChange
	}
	_, body = get(t, c, ts.URL+"/api/v1/scans/diff?from=1&to=2")
	if err := json.Unmarshal([]byte(body), &api); err != nil || api.From != 1 || api.To != 2 || len(api.Findings) != 6 ||
		api.Counts["new"] != 5 || api.Counts["resolved"] != 1 || api.Findings[5].ID != "f-old" || api.Findings[5].Change != "resolved" {
		t.Errorf("/api/v1/scans/diff: %v %s", err, body)
	}
}

// TestOverviewScoreAndHeatmap checks the score trend over scans (an inline SVG line chart) and
// the heatmap's links to exactly the findings a cell counts.
func TestOverviewScoreAndHeatmap(t *testing.T) {
	db := fixture(t)
	ts := newTestServer(t, db, "")
	c := client(t)
	resp, body := get(t, c, ts.URL+"/")
	if resp.StatusCode != 200 {
		t.Fatalf("/: %d", resp.StatusCode)
	}
	// Scan 1: one failing high → 0. Scan 2: f-old passes (high, 5), f-ssh high (5), f-hostile
	// critical (10) and f-hostile-sg low (1) fail → 5/21.
	for _, w := range []string{`<span id="org-score">23.8</span>`, `<svg id="score-trend"`, `<a href="/scans/diff?from=1&amp;to=2">`,
		"scan #1", "0.0 — 0 passing, 1 failing", `id="heatmap"`} {
		if !strings.Contains(body, w) {
			t.Errorf("/: missing %q", w)
		}
	}
	if n := strings.Count(body, "<circle "); n != 2 {
		t.Errorf("/: %d points, want 2", n)
	}
	s1, err := db.ScoreOf(context.Background(), 1)
	if err != nil || !s1.Scored || s1.Score != 0 || s1.Fail != 1 {
		t.Errorf("ScoreOf(1) = %+v %v", s1, err)
	}
	// The critical cell of account B counts 1 and lists exactly that finding.
	cell := `<td class="heat-cell sev-critical"><a href="/findings?account=222222222222&amp;severity=critical&amp;status=FAIL">1</a></td>`
	if !strings.Contains(body, cell) {
		t.Errorf("/: heat cell missing: %s", cell)
	}
	_, body = get(t, c, ts.URL+"/findings?account=222222222222&severity=critical&status=FAIL")
	if strings.Count(body, `class="finding-row"`) != 1 || !strings.Contains(body, "/findings/f-hostile") {
		t.Errorf("heat cell link does not list exactly its finding")
	}
	// A high cell no longer includes critical findings.
	_, body = get(t, c, ts.URL+"/findings?account=111111111111&severity=high&status=FAIL")
	if strings.Count(body, `class="finding-row"`) != 1 || !strings.Contains(body, "/findings/f-ssh") {
		t.Errorf("high cell link lists other severities")
	}
	// Re-evaluating the latest scan (as `yagura checks run` does) updates its cached score.
	fw := db.NewFindingWriter(2)
	must(t, fw.Put(&finding.Finding{ID: "f-late", CheckID: "ec2.sg_unused", Source: "yagura", Status: finding.Fail,
		Severity: finding.Medium, AccountID: acctA, Region: "us-east-1", ResourceARN: sgARN}))
	must(t, fw.Close())
	if _, body := get(t, c, ts.URL+"/"); !strings.Contains(body, `<span id="org-score">20.8</span>`) {
		t.Errorf("score not updated after re-evaluation")
	}
	must(t, db.PutMute(context.Background(), store.Mute{FindingID: "f-ssh", Reason: "x", CreatedAt: time.Now()}))
	var api struct {
		Scan    store.Scan
		Score   store.ScanScore
		Trend   []store.ScanScore
		Heatmap []struct {
			Account store.Account
			Total   int64
		}
		Gaps []store.Coverage `json:"coverage_gaps"`
	}
	_, body = get(t, c, ts.URL+"/api/v1/overview")
	if err := json.Unmarshal([]byte(body), &api); err != nil || api.Scan.ID != 2 || api.Score.Score != 20.8 || len(api.Trend) != 2 ||
		api.Trend[0].ScanID != 1 || len(api.Heatmap) != 2 || api.Heatmap[0].Total != 3 || len(api.Gaps) != 1 {
		t.Errorf("/api/v1/overview: %v %s", err, body)
	}
}

// TestGraphLayout checks the left-to-right layering of a branching path and the wrapping of a
// long chain into rows.
func TestGraphLayout(t *testing.T) {
	g := newDAG()
	for _, id := range []string{"internet", "lb", "sg-a", "sg-b", "i-1"} {
		g.node(gNode{ID: id, Name: id})
	}
	g.edge("internet", "lb", "internet-facing")
	g.edge("lb", "sg-a", "tcp/443")
	g.edge("lb", "sg-b", "tcp/80")
	g.edge("sg-a", "i-1", "rule a")
	g.edge("sg-b", "i-1", "rule b")
	g.edge("sg-b", "i-1", "rule b2") // merged into the existing edge's label
	out := g.layout("x")
	x := map[string]int{}
	for _, n := range out.Nodes {
		x[n.ID] = n.X
	}
	if !(x["internet"] < x["lb"] && x["lb"] < x["sg-a"] && x["sg-a"] == x["sg-b"] && x["sg-b"] < x["i-1"]) {
		t.Errorf("layers: %v", x)
	}
	if len(out.Edges) != 5 || out.Edges[4].Label != "rule b; rule b2" {
		t.Errorf("edges: %+v", out.Edges)
	}
	chain := newDAG()
	for i := range 7 {
		chain.node(gNode{ID: fmt.Sprint(i), Name: fmt.Sprint(i)})
		if i > 0 {
			chain.edge(fmt.Sprint(i-1), fmt.Sprint(i), "")
		}
	}
	c := chain.layout("y")
	at := map[string][2]int{}
	for _, n := range c.Nodes {
		at[n.ID] = [2]int{n.X, n.Y}
	}
	// Rows of chainCols, read left to right: 0-3 on the first row, 4-6 below from the left.
	if at["0"][1] != at["3"][1] || at["0"][0] >= at["3"][0] || at["4"][1] <= at["3"][1] || at["4"][0] != at["0"][0] ||
		at["6"][1] != at["4"][1] || c.Width > 2*svgPad+chainCols*(nodeW+colGap) {
		t.Errorf("wrapped chain: %v", at)
	}
}
