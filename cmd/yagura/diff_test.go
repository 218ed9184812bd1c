package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
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
	"github.com/yagura-dev/yagura/internal/mototest"
	"github.com/yagura-dev/yagura/internal/store"
)

const nfMgmt = "123456789012"

// cliMu serializes in-process CLI runs: they share the global flags and os.Stdout.
var cliMu sync.Mutex

// nfRun runs the yagura CLI in-process and returns what it printed on stdout.
func nfRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cliMu.Lock()
	defer cliMu.Unlock()
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

// controlFinding is Security Hub's EC2.19 control finding (unrestricted high-risk ports) for a
// security group, with the given compliance status, as Security Hub itself would report it.
func controlFinding(account, region, groupID string, status shtypes.ComplianceStatus) shtypes.AwsSecurityFinding {
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

// openGroup creates a security group open to the world on port 22 in the member account and
// has Security Hub report it.
func openGroup(t *testing.T, member aws.Config, account string) string {
	t.Helper()
	ctx := context.Background()
	e := ec2.NewFromConfig(member)
	sg, err := e.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("ssh-open"), Description: aws.String("ssh from anywhere")})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(sg.GroupId)
	if _, err := e.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: sshWorld}); err != nil {
		t.Fatal(err)
	}
	hub := securityhub.NewFromConfig(member)
	if _, err := hub.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{}); err != nil {
		t.Fatal(err)
	}
	importFindings(t, member, controlFinding(account, member.Region, id, shtypes.ComplianceStatusFailed))
	return id
}

var sshWorld = []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
	IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}

func importFindings(t *testing.T, cfg aws.Config, fs ...shtypes.AwsSecurityFinding) {
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

func changeOf(res diffResult, arn string) *findingChange {
	for i := range res.Findings {
		if res.Findings[i].ResourceARN == arn {
			return &res.Findings[i]
		}
	}
	return nil
}

// Scan 1 finds an open security group (reported by Security Hub's EC2.19 control: yagura has
// no security group check yet); the group is fixed and Security Hub reports the control as
// passed; scan 2 shows the finding resolved in `yagura diff`, and the group as changed.
func TestDiffShowsFixedSecurityGroupResolved(t *testing.T) {
	srv := mototest.New(t)
	cfg := srv.Config(t, "us-east-1")
	member, mcfg := nfOrg(t, cfg)
	id := openGroup(t, mcfg, member)
	arn := "arn:aws:ec2:us-east-1:" + member + ":security-group/" + id
	db := filepath.Join(t.TempDir(), "y.db")

	nfScan(t, db, srv.URL)
	first := nfDiffAgainstNothing(t, db, arn)
	if first.Status != finding.Fail || first.Lifecycle != finding.LifecycleNew {
		t.Fatalf("scan 1: %+v", first)
	}

	if _, err := ec2.NewFromConfig(mcfg).RevokeSecurityGroupIngress(context.Background(), &ec2.RevokeSecurityGroupIngressInput{GroupId: &id, IpPermissions: sshWorld}); err != nil {
		t.Fatal(err)
	}
	importFindings(t, mcfg, controlFinding(member, "us-east-1", id, shtypes.ComplianceStatusPassed))
	nfScan(t, db, srv.URL)

	res := nfDiff(t, db)
	c := changeOf(res, arn)
	if c == nil || c.Change != changeResolved || c.Lifecycle != finding.LifecycleResolved {
		t.Fatalf("diff after the fix: %+v", res.Findings)
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

// nfDiffAgainstNothing reads the finding on arn after the first scan (there is nothing to diff
// against yet).
func nfDiffAgainstNothing(t *testing.T, db, arn string) *finding.Finding {
	t.Helper()
	out, err := nfRun(t, "--db", db, "diff", "--format", "json")
	if err == nil {
		t.Fatalf("diff with a single scan should fail, printed %s", out)
	}
	d, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	fs, err := d.Findings(context.Background(), store.FindingFilter{ResourceGlob: arn})
	if err != nil || len(fs) != 1 {
		t.Fatalf("findings on %s: %v %+v", arn, err, fs)
	}
	return fs[0]
}

// In scan 2 the member account's role cannot be assumed: the finding stays open and is marked
// stale with the reason, it is not resolved.
func TestDiffKeepsFindingOpenAndStaleWhenRoleIsMissing(t *testing.T) {
	srv := mototest.New(t)
	cfg := srv.Config(t, "us-east-1")
	member, mcfg := nfOrg(t, cfg)
	id := openGroup(t, mcfg, member)
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
	c := changeOf(res, arn)
	if c == nil || c.Change != changeStale {
		t.Fatalf("diff with the role missing: %+v", res.Findings)
	}
	if c.Lifecycle == finding.LifecycleResolved || c.Status != finding.Fail || !c.Stale || !strings.Contains(c.StaleReason, "denied") {
		t.Errorf("finding after a denied scan: lifecycle %s status %s stale %v reason %q", c.Lifecycle, c.Status, c.Stale, c.StaleReason)
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
