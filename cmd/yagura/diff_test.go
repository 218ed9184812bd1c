package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/faultproxy"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/mototest"
	"github.com/yagura-dev/yagura/internal/store"
)

const nfMgmt = "123456789012"

// nfCLIMu serializes in-process CLI runs: they share the global flags and os.Stdout.
var nfCLIMu sync.Mutex

// nfRun runs the yagura CLI in-process and returns what it printed on stdout.
func nfRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	nfCLIMu.Lock()
	defer nfCLIMu.Unlock()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	var out bytes.Buffer
	done := make(chan struct{})
	go func() { _, _ = io.Copy(&out, r); close(done) }()
	cmd := newRootCmd()
	cmd.SetArgs(append([]string{"--quiet"}, args...))
	err = cmd.Execute()
	w.Close()
	<-done
	os.Stdout = old
	return out.String(), err
}

// nfOrg creates an organization with one member account and returns the member's id and a
// configuration with its credentials.
func nfOrg(t *testing.T, cfg aws.Config) (string, aws.Config) {
	t.Helper()
	ctx := context.Background()
	org := organizations.NewFromConfig(cfg)
	if _, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}); err != nil {
		t.Fatal(err)
	}
	out, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("prod"), Email: aws.String("prod@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.CreateAccountStatus.AccountId)
	return id, awsx.AssumeConfig(cfg, nfMgmt, id, awsx.RoleOptions{RoleName: "OrganizationAccountAccessRole"})
}

// nfControlFinding is Security Hub's EC2.19 control finding (unrestricted high-risk ports) for a
// security group, with the given compliance status, as Security Hub itself would report it.
func nfControlFinding(account, region, groupID string, status shtypes.ComplianceStatus) shtypes.AwsSecurityFinding {
	workflow := shtypes.WorkflowStatusNew
	if status == shtypes.ComplianceStatusPassed {
		workflow = shtypes.WorkflowStatusResolved
	}
	now := "2026-11-28T08:00:00.000Z"
	return shtypes.AwsSecurityFinding{
		SchemaVersion: aws.String("2018-10-08"),
		Id:            aws.String("arn:aws:securityhub:" + region + ":" + account + ":security-control/EC2.19/finding/" + groupID),
		ProductArn:    aws.String("arn:aws:securityhub:" + region + "::product/aws/securityhub"),
		GeneratorId:   aws.String("security-control/EC2.19"),
		AwsAccountId:  aws.String(account),
		Region:        aws.String(region),
		Types:         []string{"Software and Configuration Checks/Industry and Regulatory Standards"},
		CreatedAt:     aws.String(now), UpdatedAt: aws.String(now),
		Severity:    &shtypes.Severity{Label: shtypes.SeverityLabelCritical},
		Title:       aws.String("Security groups should not allow unrestricted access to ports with high risk"),
		Description: aws.String("This control checks whether unrestricted incoming traffic for the security groups is accessible to the specified ports that have the highest risk."),
		Resources: []shtypes.Resource{{Type: aws.String("AwsEc2SecurityGroup"), Partition: shtypes.PartitionAws, Region: aws.String(region),
			Id: aws.String("arn:aws:ec2:" + region + ":" + account + ":security-group/" + groupID)}},
		Compliance:  &shtypes.Compliance{Status: status, SecurityControlId: aws.String("EC2.19")},
		Workflow:    &shtypes.Workflow{Status: workflow},
		RecordState: shtypes.RecordStateActive,
	}
}

// nfOpenGroup creates a security group open to the world on port 22 in the member account and
// has Security Hub report it.
func nfOpenGroup(t *testing.T, member aws.Config, account string) string {
	t.Helper()
	ctx := context.Background()
	e := ec2.NewFromConfig(member)
	sg, err := e.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("ssh-open"), Description: aws.String("ssh from anywhere")})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(sg.GroupId)
	if _, err := e.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: nfSSHWorld}); err != nil {
		t.Fatal(err)
	}
	hub := securityhub.NewFromConfig(member)
	if _, err := hub.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{}); err != nil {
		t.Fatal(err)
	}
	nfImport(t, member, nfControlFinding(account, member.Region, id, shtypes.ComplianceStatusFailed))
	return id
}

var nfSSHWorld = []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
	IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}

func nfImport(t *testing.T, cfg aws.Config, fs ...shtypes.AwsSecurityFinding) {
	t.Helper()
	out, err := securityhub.NewFromConfig(cfg).BatchImportFindings(context.Background(), &securityhub.BatchImportFindingsInput{Findings: fs})
	if err != nil || aws.ToInt32(out.FailedCount) != 0 {
		t.Fatalf("BatchImportFindings: %v %+v", err, out)
	}
}

// nfScan runs `yagura scan` against endpoint into db.
func nfScan(t *testing.T, db, endpoint string) {
	t.Helper()
	if _, err := nfRun(t, "--db", db, "--endpoint-url", endpoint, "scan", "--role-name", "OrganizationAccountAccessRole",
		"--regions", "us-east-1", "--services", "ec2,securityhub"); err != nil {
		t.Fatalf("scan: %v", err)
	}
}

func nfDiff(t *testing.T, db string, args ...string) diffResult {
	t.Helper()
	out, err := nfRun(t, append([]string{"--db", db, "diff", "--format", "json"}, args...)...)
	if err != nil {
		t.Fatalf("diff: %v", err)
	}
	var res diffResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("diff output: %v\n%s", err, out)
	}
	return res
}

// Scan 1 finds an open security group: yagura's own checks (fsbp:EC2.13, SSH from anywhere)
// and Security Hub's EC2.19 control, which merges with yagura's EC2.19 finding. The group is
// fixed and Security Hub reports the control as passed; scan 2 shows both findings resolved in
// `yagura diff`, and the group as changed.
func TestDiffShowsFixedSecurityGroupResolved(t *testing.T) {
	srv := mototest.New(t)
	cfg := srv.Config(t, "us-east-1")
	member, mcfg := nfOrg(t, cfg)
	id := nfOpenGroup(t, mcfg, member)
	arn := "arn:aws:ec2:us-east-1:" + member + ":security-group/" + id
	db := filepath.Join(t.TempDir(), "y.db")

	nfScan(t, db, srv.URL)
	ssh := nfFindingOn(t, db, arn, "fsbp:EC2.13")
	if ssh.Status != finding.Fail || ssh.Lifecycle != finding.LifecycleNew || ssh.Source != "yagura" {
		t.Fatalf("scan 1, yagura's EC2.13: %+v", ssh)
	}
	ports := nfFindingOn(t, db, arn, "fsbp:EC2.19")
	if ports.Status != finding.Fail || !slices.Equal(ports.Sources, []string{"securityhub", "yagura"}) {
		t.Fatalf("scan 1, EC2.19 from yagura and Security Hub: %+v", ports)
	}
	if _, err := nfRun(t, "--db", db, "diff", "--format", "json"); err == nil {
		t.Errorf("diff with a single scan should fail")
	}

	if _, err := ec2.NewFromConfig(mcfg).RevokeSecurityGroupIngress(context.Background(), &ec2.RevokeSecurityGroupIngressInput{GroupId: &id, IpPermissions: nfSSHWorld}); err != nil {
		t.Fatal(err)
	}
	nfImport(t, mcfg, nfControlFinding(member, "us-east-1", id, shtypes.ComplianceStatusPassed))
	nfScan(t, db, srv.URL)

	res := nfDiff(t, db)
	for _, want := range []*finding.Finding{ssh, ports} {
		c := nfChangeByID(res, want.ID)
		if c == nil || c.Change != changeResolved || c.Lifecycle != finding.LifecycleResolved || c.Status != finding.Pass {
			t.Errorf("diff after the fix, %v: %+v", want.Controls, c)
		}
	}
	changed := false
	for _, r := range res.Resources {
		if r.ARN == arn && r.Change == store.ResourceChanged {
			changed = true
		}
	}
	if !changed {
		t.Errorf("the fixed group is not among the changed resources: %+v", res.Resources)
	}
	table, err := nfRun(t, "--db", db, "diff", "--format", "table")
	if err != nil || !strings.Contains(table, "resolved") || !strings.Contains(table, id) {
		t.Errorf("table diff: %v\n%s", err, table)
	}
}

// nfFindingOn reads the finding of control on arn from the database.
func nfFindingOn(t *testing.T, db, arn, control string) *finding.Finding {
	t.Helper()
	d, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	fs, err := d.Findings(context.Background(), store.FindingFilter{ResourceGlob: arn, Control: control})
	if err != nil || len(fs) != 1 {
		t.Fatalf("findings of %s on %s: %v %+v", control, arn, err, fs)
	}
	return fs[0]
}

func nfChangeByID(res diffResult, id string) *findingChange {
	for i := range res.Findings {
		if res.Findings[i].ID == id {
			return &res.Findings[i]
		}
	}
	return nil
}

// In scan 2 the member account's role cannot be assumed: the finding stays open and is marked
// stale with the reason, it is not resolved.
func TestDiffKeepsFindingOpenAndStaleWhenRoleIsMissing(t *testing.T) {
	srv := mototest.New(t)
	cfg := srv.Config(t, "us-east-1")
	member, mcfg := nfOrg(t, cfg)
	id := nfOpenGroup(t, mcfg, member)
	arn := "arn:aws:ec2:us-east-1:" + member + ":security-group/" + id
	proxy, err := faultproxy.Start(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	db := filepath.Join(t.TempDir(), "y.db")

	nfScan(t, db, proxy.URL)
	proxy.AddFault(faultproxy.DenyAssumeRole(member))
	nfScan(t, db, proxy.URL)

	res := nfDiff(t, db)
	// Security Hub's EC2.19 finding (merged with yagura's) and yagura's EC2.13 finding.
	for _, control := range []string{"fsbp:EC2.19", "fsbp:EC2.13"} {
		f := nfFindingOn(t, db, arn, control)
		c := nfChangeByID(res, f.ID)
		if c == nil || c.Change != changeStale {
			t.Errorf("%s: diff with the role missing: %+v", control, c)
			continue
		}
		if c.Lifecycle == finding.LifecycleResolved || c.Status != finding.Fail || !c.Stale || !strings.Contains(c.StaleReason, "denied") {
			t.Errorf("%s after a denied scan: lifecycle %s status %s stale %v reason %q", control, c.Lifecycle, c.Status, c.Stale, c.StaleReason)
		}
	}
	// The group was not seen because the account could not be read: unseen, not removed.
	var group *store.ResourceChange
	for i, r := range res.Resources {
		if r.ARN == arn {
			group = &res.Resources[i]
		}
	}
	if group == nil || group.Change != resourceUnseen || len(group.Fields) != 1 || !strings.Contains(group.Fields[0], "denied") {
		t.Errorf("security group in the diff: %+v", group)
	}
}

// Findings imported into Security Hub (GuardDuty, Inspector and control product ARNs) and
// seeded into Inspector2 come out of a scan normalized, their resources matching the inventory
// the same scan collected, and the GuardDuty and Inspector copies merged.
func TestNativeFindingsMatchInventory(t *testing.T) {
	srv := mototest.New(t)
	cfg := srv.Config(t, "us-east-1")
	member, mcfg := nfOrg(t, cfg)
	ctx := context.Background()
	e := ec2.NewFromConfig(mcfg)
	imgs, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
	if err != nil || len(imgs.Images) == 0 {
		t.Fatalf("no AMI: %v", err)
	}
	run, err := e.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: imgs.Images[0].ImageId, MinCount: aws.Int32(1), MaxCount: aws.Int32(1), InstanceType: ec2types.InstanceTypeT3Micro})
	if err != nil {
		t.Fatal(err)
	}
	inst := aws.ToString(run.Instances[0].InstanceId)
	sgID := nfOpenGroup(t, mcfg, member) // also enables Security Hub and imports the EC2.19 finding
	instARN := "arn:aws:ec2:us-east-1:" + member + ":instance/" + inst

	// GuardDuty's and Inspector's copies in Security Hub, from the native samples.
	b, err := os.ReadFile("../../internal/native/testdata/asff.json")
	if err != nil {
		t.Fatal(err)
	}
	wire := strings.NewReplacer("111122223333", member, "i-0abcdef1234567890", inst).Replace(string(b))
	var asff struct{ Findings []shtypes.AwsSecurityFinding }
	if err := json.Unmarshal([]byte(wire), &asff); err != nil {
		t.Fatal(err)
	}
	nfImport(t, mcfg, asff.Findings[1], asff.Findings[2])
	// Inspector's own finding on the instance (the same finding ARN as its Security Hub copy).
	b, err = os.ReadFile("../../internal/native/testdata/inspector.json")
	if err != nil {
		t.Fatal(err)
	}
	var i2 struct{ Findings []map[string]any }
	if err := json.Unmarshal([]byte(strings.NewReplacer("111122223333", member, "i-0abcdef1234567890", inst).Replace(string(b))), &i2); err != nil {
		t.Fatal(err)
	}
	seed, _ := json.Marshal(map[string]any{"account_id": member, "region": "us-east-1", "results": [][]map[string]any{{i2.Findings[0]}}})
	resp, err := http.Post(srv.URL+"/moto-api/static/inspector2/findings-results", "application/json", bytes.NewReader(seed))
	if err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("seeding inspector2: %v %v", err, resp)
	}
	resp.Body.Close()

	db := filepath.Join(t.TempDir(), "y.db")
	if _, err := nfRun(t, "--db", db, "--endpoint-url", srv.URL, "scan", "--role-name", "OrganizationAccountAccessRole",
		"--regions", "us-east-1", "--services", "ec2,securityhub,inspector2"); err != nil {
		t.Fatal(err)
	}
	d, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	sc, err := d.GetScan(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	out, err := nfRun(t, "--db", db, "findings", "--format", "json", "--source", "securityhub,guardduty,inspector2")
	if err != nil {
		t.Fatal(err)
	}
	var fs []*finding.Finding
	if err := json.Unmarshal([]byte(out), &fs); err != nil {
		t.Fatalf("yagura findings: %v\n%s", err, out)
	}
	bySource := map[string]*finding.Finding{}
	for _, f := range fs {
		bySource[f.Source] = f
		var n int
		err := d.EachResource(ctx, sc.ID, store.ResourceFilter{ARN: f.ResourceARN}, func(r *inventory.Resource) error {
			n++
			if r.Type != f.ResourceType {
				t.Errorf("%s: finding type %s, inventory type %s", f.ResourceARN, f.ResourceType, r.Type)
			}
			return nil
		})
		if err != nil || n != 1 {
			t.Errorf("%s finding %q: resource %s not in the inventory (%v)", f.Source, f.Title, f.ResourceARN, err)
		}
	}
	if len(fs) != 3 {
		t.Fatalf("%d findings, want 3 (control, GuardDuty, Inspector): %+v", len(fs), fs)
	}
	gd, in := bySource["guardduty"], bySource["inspector2"]
	// The control finding is merged with yagura's own check for the same control, so its primary
	// source is yagura and Security Hub is among its sources.
	var ctl *finding.Finding
	for _, f := range fs {
		if slices.Contains(f.Sources, "securityhub") && slices.Contains(f.Controls, "fsbp:EC2.19") {
			ctl = f
		}
	}
	if gd == nil || gd.ResourceARN != instARN || gd.Severity != finding.High {
		t.Errorf("GuardDuty finding %+v", gd)
	}
	if in == nil || in.ResourceARN != instARN || !slices.Equal(in.Sources, []string{"inspector2", "securityhub"}) {
		t.Errorf("Inspector finding read directly and through Security Hub: %+v", in)
	} else {
		// The evidence is that of whichever copy was stored last in the scan: Inspector's own
		// (exploitAvailable) or Security Hub's (Vulnerabilities[].ExploitAvailable).
		var buf bytes.Buffer
		_ = json.Compact(&buf, in.Evidence)
		if ev := strings.ToLower(buf.String()); !strings.Contains(ev, `"exploitavailable":"yes"`) {
			t.Errorf("Inspector evidence %s", in.Evidence)
		}
	}
	if ctl == nil || !strings.HasSuffix(ctl.ResourceARN, sgID) || !slices.Equal(ctl.Controls, []string{"fsbp:EC2.19"}) {
		t.Errorf("control finding %+v", ctl)
	}
}
