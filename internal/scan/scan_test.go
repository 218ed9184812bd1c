package scan_test

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/demo"
	"github.com/yagura-dev/yagura/internal/faultproxy"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/mototest"
	"github.com/yagura-dev/yagura/internal/scan"
	"github.com/yagura-dev/yagura/internal/store"
)

// Two small collectors exercise the engine without depending on the service packages: one
// regional (VPCs), one global (IAM users).
func init() {
	collect.Register(&collect.Collector{
		Name: "enginetest.vpcs", Service: "enginetest", Actions: []string{"ec2:DescribeVpcs"},
		ResourceTypes: []string{"AWS::EC2::VPC"},
		Run: func(ctx context.Context, t *collect.Target, sink collect.Sink) error {
			p := ec2.NewDescribeVpcsPaginator(ec2.NewFromConfig(t.Config), &ec2.DescribeVpcsInput{})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					return err
				}
				for _, v := range page.Vpcs {
					id := aws.ToString(v.VpcId)
					if err := sink.PutResource(&inventory.Resource{ARN: t.ARN("ec2", t.Region, "vpc/"+id), Type: "AWS::EC2::VPC",
						AccountID: t.AccountID, Region: t.Region, Name: id, Config: inventory.MarshalConfig(v)}); err != nil {
						return err
					}
				}
			}
			return nil
		},
	})
	collect.Register(&collect.Collector{
		Name: "enginetest.users", Service: "enginetest", Global: true, Actions: []string{"iam:ListUsers"},
		ResourceTypes: []string{"AWS::IAM::User"},
		Run: func(ctx context.Context, t *collect.Target, sink collect.Sink) error {
			p := iam.NewListUsersPaginator(iam.NewFromConfig(t.Config), &iam.ListUsersInput{})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					return err
				}
				for _, u := range page.Users {
					if err := sink.PutResource(&inventory.Resource{ARN: aws.ToString(u.Arn), Type: "AWS::IAM::User",
						AccountID: t.AccountID, Region: "global", Name: aws.ToString(u.UserName), Config: inventory.MarshalConfig(u)}); err != nil {
						return err
					}
				}
			}
			return nil
		},
	})
}

type testOrg struct {
	mgmt    string
	members map[string]string // name -> id
}

// buildOrg creates an organization of 4 accounts in 2 OUs, with account tags.
func buildOrg(t *testing.T, cfg aws.Config) testOrg {
	t.Helper()
	mgmt, members, err := demo.SmallOrg(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return testOrg{mgmt: mgmt, members: members}
}

func openDB(t *testing.T) *store.DB {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "y.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestScanOrganizationAcrossAccountsAndRegions(t *testing.T) {
	srv := mototest.New(t)
	cfg := srv.Config(t, "us-east-1")
	o := buildOrg(t, cfg)
	// A VPC in the prod account's eu-west-1 proves tasks really run with that account's credentials.
	prodCfg := awsx.AssumeConfig(cfg, o.mgmt, o.members["prod"], awsx.RoleOptions{RoleName: "OrganizationAccountAccessRole"})
	prodCfg.Region = "eu-west-1"
	vpc, err := ec2.NewFromConfig(prodCfg).CreateVpc(context.Background(), &ec2.CreateVpcInput{CidrBlock: aws.String("10.9.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}

	db := openDB(t)
	s := &scan.Scanner{DB: db, Base: cfg}
	res, err := s.Run(context.Background(), scan.Options{RoleName: "OrganizationAccountAccessRole", Regions: []string{"us-east-1", "eu-west-1"}, Services: []string{"enginetest"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != store.ScanComplete {
		t.Fatalf("status %s (%s)", res.Status, res.Reason)
	}
	cov, err := db.CoverageOf(context.Background(), res.ScanID)
	if err != nil {
		t.Fatal(err)
	}
	// 4 accounts × (2 regions × 1 regional + 1 global) = 12 tasks, all ok.
	if len(cov) != 12 {
		t.Fatalf("want 12 coverage records, got %d: %+v", len(cov), cov)
	}
	for _, c := range cov {
		if c.Status != store.CoverageOK || c.Calls == 0 {
			t.Errorf("task %+v not ok or made no call", c)
		}
	}
	accts, err := db.Accounts(context.Background(), res.ScanID)
	if err != nil {
		t.Fatal(err)
	}
	if len(accts) != 4 {
		t.Fatalf("want 4 accounts, got %d", len(accts))
	}
	byID := map[string]store.Account{}
	for _, a := range accts {
		byID[a.ID] = a
	}
	if got := byID[o.members["prod"]]; got.OUPath != "Root/Workloads" || got.Tags["Environment"] != "prod" || got.Access != "assumed" || got.Name != "prod" {
		t.Errorf("prod account recorded as %+v", got)
	}
	if got := byID[o.members["tooling"]]; got.OUPath != "Root/Security" {
		t.Errorf("tooling OU path %q", got.OUPath)
	}
	if got := byID[o.mgmt]; got.Access != "self" || got.OUPath != "Root" {
		t.Errorf("management account recorded as %+v", got)
	}
	// The VPC created in prod/eu-west-1 is attributed to that account and region only.
	var found []string
	err = db.EachResource(context.Background(), res.ScanID, store.ResourceFilter{Types: []string{"AWS::EC2::VPC"}}, func(r *inventory.Resource) error {
		if strings.Contains(string(r.Config), aws.ToString(vpc.Vpc.VpcId)) {
			found = append(found, r.AccountID+"/"+r.Region)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0] != o.members["prod"]+"/eu-west-1" {
		t.Fatalf("VPC found as %v", found)
	}
}

func TestScanRecordsDeniedRoleAndGoesOn(t *testing.T) {
	srv := mototest.New(t)
	o := buildOrg(t, srv.Config(t, "us-east-1"))
	proxy, err := faultproxy.Start(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.AddFault(faultproxy.DenyAssumeRole(o.members["dev"]))
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: proxy.URL})
	if err != nil {
		t.Fatal(err)
	}
	db := openDB(t)
	res, err := (&scan.Scanner{DB: db, Base: cfg}).Run(context.Background(), scan.Options{RoleName: "OrganizationAccountAccessRole", Regions: []string{"us-east-1", "eu-west-1"}, Services: []string{"enginetest"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != store.ScanPartial || len(res.Warnings) == 0 {
		t.Fatalf("want a partial scan with a warning, got %s %v", res.Status, res.Warnings)
	}
	cov, _ := db.CoverageOf(context.Background(), res.ScanID)
	perAccount := map[string][]string{}
	for _, c := range cov {
		perAccount[c.AccountID] = append(perAccount[c.AccountID], c.Status)
		if c.AccountID == o.members["dev"] && !strings.Contains(c.Reason, "AccessDenied") {
			t.Errorf("denied reason does not say why: %q", c.Reason)
		}
	}
	for acct, statuses := range perAccount {
		sort.Strings(statuses)
		want := "ok"
		if acct == o.members["dev"] {
			want = "denied"
		}
		if len(statuses) != 3 {
			t.Errorf("account %s has %d tasks, want 3", acct, len(statuses))
		}
		for _, s := range statuses {
			if s != want {
				t.Errorf("account %s: task %s, want %s", acct, s, want)
			}
		}
	}
	if len(perAccount) != 4 {
		t.Fatalf("coverage for %d accounts, want 4", len(perAccount))
	}
	accts, _ := db.Accounts(context.Background(), res.ScanID)
	for _, a := range accts {
		if a.ID == o.members["dev"] && a.Access != "denied" {
			t.Errorf("dev account access %q", a.Access)
		}
	}
}

func TestScanSurvivesThrottlingStorm(t *testing.T) {
	srv := mototest.New(t)
	buildOrg(t, srv.Config(t, "us-east-1"))
	proxy, err := faultproxy.Start(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.StormRate = 0.3
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: proxy.URL})
	if err != nil {
		t.Fatal(err)
	}
	db := openDB(t)
	res, err := (&scan.Scanner{DB: db, Base: cfg}).Run(context.Background(), scan.Options{RoleName: "OrganizationAccountAccessRole", Regions: []string{"us-east-1", "eu-west-1"}, Services: []string{"enginetest"}})
	if err != nil {
		t.Fatal(err)
	}
	if proxy.Throttled.Load() == 0 {
		t.Fatal("the storm throttled nothing")
	}
	if res.Status != store.ScanComplete || res.Tasks != 12 || res.ByOutcome["ok"] != 12 {
		t.Fatalf("storm lost tasks: %s %+v (%s)", res.Status, res.ByOutcome, res.Reason)
	}
	if res.Throttles == 0 {
		t.Error("throttled attempts were not counted")
	}
}

func TestCancelledScanIsPartialAndEarlierScansSurvive(t *testing.T) {
	srv := mototest.New(t)
	buildOrg(t, srv.Config(t, "us-east-1"))
	proxy, err := faultproxy.Start(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	cfg, _ := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: proxy.URL})
	db := openDB(t)
	opts := scan.Options{RoleName: "OrganizationAccountAccessRole", Regions: []string{"us-east-1", "eu-west-1"}, Services: []string{"enginetest"}, Concurrency: 2}
	first, err := (&scan.Scanner{DB: db, Base: cfg}).Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	// Ctrl-C arrives once a few tasks have finished.
	proxy.Latency = 150 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stats := &scan.Stats{}
	go func() {
		for stats.TasksDone.Load() < 2 {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	second, err := (&scan.Scanner{DB: db, Base: cfg, Stats: stats}).Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if second.Status != store.ScanPartial {
		t.Fatalf("cancelled scan status %s", second.Status)
	}
	cov, _ := db.CoverageOf(context.Background(), second.ScanID)
	skipped := 0
	for _, c := range cov {
		if c.Status == store.CoverageSkipped {
			skipped++
		}
	}
	// Accounts discovered before Ctrl-C have a record for every task (none lost, the rest
	// skipped); accounts not yet discovered are simply not part of the scan.
	accts, _ := db.Accounts(context.Background(), second.ScanID)
	if skipped == 0 || len(accts) == 0 || len(cov) != 3*len(accts) {
		t.Fatalf("cancelled scan: %d accounts, %d coverage records, %d skipped", len(accts), len(cov), skipped)
	}
	sc, err := db.GetScan(context.Background(), first.ScanID)
	if err != nil || sc.Status != store.ScanComplete {
		t.Fatalf("first scan after a cancelled one: %+v %v", sc, err)
	}
}

// A scan longer than a role session (role chaining caps sessions at one hour) renews credentials
// before they expire instead of failing. Sessions here last 15 minutes and are renewed when less
// than 20 minutes (less 20 % jitter) remain, i.e. before every use.
func TestExpiringSessionsAreRefreshed(t *testing.T) {
	srv := mototest.New(t)
	buildOrg(t, srv.Config(t, "us-east-1"))
	proxy, err := faultproxy.Start(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	var assumes atomic.Int64
	proxy.AddFault(faultproxy.Fault{Match: func(c *faultproxy.Call) bool {
		if c.Action == "AssumeRole" {
			assumes.Add(1)
		}
		return false
	}})
	cfg, _ := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: proxy.URL})
	db := openDB(t)
	res, err := (&scan.Scanner{DB: db, Base: cfg}).Run(context.Background(), scan.Options{
		RoleName: "OrganizationAccountAccessRole", Regions: []string{"us-east-1", "eu-west-1"}, Services: []string{"enginetest"},
		SessionDuration: 15 * time.Minute, RefreshBefore: 20 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != store.ScanComplete {
		t.Fatalf("status %s: %s", res.Status, res.Reason)
	}
	// 3 member accounts, each used by a credential check and then by 3 tasks (concurrent uses
	// share one renewal): without renewal there would be exactly one AssumeRole per account.
	if n := assumes.Load(); n <= 3 {
		t.Fatalf("only %d AssumeRole calls: sessions were not renewed before expiry", n)
	}
}

// One slow account must not starve the rest: with two workers and an account whose calls hang,
// the other accounts' tasks all finish before the slow account's last task.
func TestSlowAccountDoesNotStarveOthers(t *testing.T) {
	srv := mototest.New(t)
	o := buildOrg(t, srv.Config(t, "us-east-1"))
	proxy, err := faultproxy.Start(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	slow := o.members["prod"]
	cfg, _ := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: proxy.URL})
	db := openDB(t)
	// The slow account hangs once discovery is over (so that the test measures the scheduler, not
	// discovery) until every other account's tasks have finished. A scheduler that lets the hung
	// account take both workers never gets there, and the test fails at the deadline instead of
	// depending on how fast this machine answers.
	stats := &scan.Stats{}
	release := func() {}
	held := make(chan struct{})
	go func() {
		for stats.Tasks.Load() == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		release = proxy.HoldAccount(slow)
		close(held)
	}()
	type result struct {
		res *scan.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := (&scan.Scanner{DB: db, Base: cfg, Stats: stats}).Run(context.Background(), scan.Options{RoleName: "OrganizationAccountAccessRole",
			Regions: []string{"us-east-1", "eu-west-1"}, Services: []string{"enginetest"}, Concurrency: 2})
		done <- result{res, err}
	}()
	<-held
	fastTasks := 3 * 3 // three fast accounts × (two regions of VPCs + global users)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var n int
		db.SQL.QueryRow(`SELECT count(*) FROM coverage WHERE account_id != ?`, slow).Scan(&n)
		if n >= fastTasks {
			break
		}
		if time.Now().After(deadline) {
			release()
			t.Fatalf("fast accounts finished %d of %d tasks while the slow account hung: they waited behind it", n, fastTasks)
		}
		time.Sleep(20 * time.Millisecond)
	}
	release()
	r := <-done
	res, err := r.res, r.err
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != store.ScanComplete {
		t.Fatalf("status %s: %s", res.Status, res.Reason)
	}
	// Coverage rows are written as tasks finish: their insertion order is the completion order.
	rows, err := db.SQL.Query(`SELECT account_id FROM coverage WHERE scan_id = ? ORDER BY rowid`, res.ScanID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var order []string
	for rows.Next() {
		var a string
		rows.Scan(&a)
		order = append(order, a)
	}
	lastSlow, lastFast := -1, -1
	for i, a := range order {
		if a == slow {
			lastSlow = i
		} else {
			lastFast = i
		}
	}
	if lastFast > lastSlow {
		t.Fatalf("fast accounts waited behind the slow one: completion order %v", order)
	}
}
