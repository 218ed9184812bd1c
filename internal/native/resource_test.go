package native_test

import (
	"encoding/json"
	"testing"

	sdk "github.com/aws/aws-sdk-go-v2/aws"
	gdtypes "github.com/aws/aws-sdk-go-v2/service/guardduty/types"
	i2types "github.com/aws/aws-sdk-go-v2/service/inspector2/types"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/native"
)

// Each mapping below turns a native identifier into the ARN the inventory's collector writes
// (docs/resource-types); what cannot be mapped keeps the native id and is marked.
func TestTrustedAdvisorResourcesMapToInventoryARNs(t *testing.T) {
	for _, c := range []struct {
		name, check string
		columns     []string
		values      []string
		arn, rtype  string
		unmatched   bool
	}{
		{"security group", "Security Groups - Unrestricted Access", []string{"Region", "Security Group Name", "Security Group ID", "Protocol"},
			[]string{"eu-west-1", "web", "sg-0abc", "tcp"}, "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0abc", "AWS::EC2::SecurityGroup", false},
		{"EBS snapshot, not its volume", "Amazon EBS Public Snapshots", []string{"Region", "Volume ID", "Snapshot ID", "Description"},
			[]string{"eu-west-1", "vol-0aa", "snap-0bb", "backup"}, "arn:aws:ec2:eu-west-1::snapshot/snap-0bb", "AWS::EC2::Snapshot", false},
		{"RDS snapshot", "Amazon RDS Public Snapshots", []string{"Region", "DB Instance or Cluster ID", "Snapshot ID"},
			[]string{"eu-west-1", "orders", "orders-2026-11-01"}, "arn:aws:rds:eu-west-1:111122223333:snapshot:orders-2026-11-01", "AWS::RDS::DBSnapshot", false},
		{"bucket", "Amazon S3 Bucket Permissions", []string{"Region Name", "Region API Parameter", "Bucket Name", "ACL Allows List"},
			[]string{"EU (Ireland)", "eu-west-1", "reports", "Yes"}, "arn:aws:s3:::reports", "AWS::S3::Bucket", false},
		{"trail, not its bucket", "AWS CloudTrail Logging", []string{"Region", "Trail Name", "Logging Status", "Bucket Name"},
			[]string{"eu-west-1", "org-trail", "Off", "trail-logs"}, "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org-trail", "AWS::CloudTrail::Trail", false},
		{"classic load balancer", "ELB Listener Security", []string{"Region", "Load Balancer Name", "Load Balancer Port", "Status", "Reason"},
			[]string{"eu-west-1", "legacy", "80", "Yellow", "no HTTPS"}, "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/legacy",
			"AWS::ElasticLoadBalancing::LoadBalancer", false},
		{"IAM user without path", "IAM Access Key Rotation", []string{"Status", "IAM User", "Access Key", "Key Last Rotated", "Reason"},
			[]string{"Red", "bob", "AKIA1", "2020-01-01", "old"}, "arn:aws:iam::111122223333:user/bob", "AWS::IAM::User", true},
		{"account-wide check", "MFA on Root Account", []string{"Status", "Reason"}, []string{"Red", "no MFA"}, "1x2y3z", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := native.FromTrustedAdvisor("aws", acct, &native.TACheck{ID: "c", Name: c.check, Category: "security", Metadata: c.columns},
				&native.TAFlaggedResource{Status: "error", Region: "eu-west-1", ResourceID: "1x2y3z", Metadata: c.values})
			if f.ResourceARN != c.arn || f.ResourceType != c.rtype {
				t.Errorf("resource %s (%s), want %s (%s)", f.ResourceARN, f.ResourceType, c.arn, c.rtype)
			}
			if got := native.Unmatched(f) != ""; got != c.unmatched {
				t.Errorf("unmatched %v (%q), want %v", got, native.Unmatched(f), c.unmatched)
			}
		})
	}
}

func TestGuardDutyResourcesMapToInventoryARNs(t *testing.T) {
	for _, c := range []struct {
		name       string
		resource   gdtypes.Resource
		arn, rtype string
		unmatched  bool
	}{
		{"instance by id", gdtypes.Resource{InstanceDetails: &gdtypes.InstanceDetails{InstanceId: sdk.String("i-0abc")}},
			"arn:aws:ec2:us-east-1:111122223333:instance/i-0abc", "AWS::EC2::Instance", false},
		{"EBS snapshot ARN loses the account", gdtypes.Resource{EbsSnapshotDetails: &gdtypes.EbsSnapshotDetails{SnapshotArn: sdk.String("arn:aws:ec2:us-east-1:111122223333:snapshot/snap-1")}},
			"arn:aws:ec2:us-east-1::snapshot/snap-1", "AWS::EC2::Snapshot", false},
		{"AMI ARN loses the account", gdtypes.Resource{Ec2ImageDetails: &gdtypes.Ec2ImageDetails{ImageArn: sdk.String("arn:aws:ec2:us-east-1:111122223333:image/ami-1")}},
			"arn:aws:ec2:us-east-1::image/ami-1", "AWS::EC2::Image", false},
		{"Aurora limitless shard group: its cluster", gdtypes.Resource{RdsLimitlessDbDetails: &gdtypes.RdsLimitlessDbDetails{DbClusterIdentifier: sdk.String("orders")}},
			"arn:aws:rds:us-east-1:111122223333:cluster:orders", "AWS::RDS::DBCluster", false},
		{"qualified Lambda ARN", gdtypes.Resource{LambdaDetails: &gdtypes.LambdaDetails{FunctionArn: sdk.String("arn:aws:lambda:us-east-1:111122223333:function:f:7")}},
			"arn:aws:lambda:us-east-1:111122223333:function:f", "AWS::Lambda::Function", false},
		{"IAM user by name", gdtypes.Resource{AccessKeyDetails: &gdtypes.AccessKeyDetails{UserName: sdk.String("alice"), UserType: sdk.String("IAMUser")}},
			"arn:aws:iam::111122223333:user/alice", "AWS::IAM::User", true},
		{"root", gdtypes.Resource{AccessKeyDetails: &gdtypes.AccessKeyDetails{UserName: sdk.String("Root"), UserType: sdk.String("Root")}},
			"arn:aws:iam::111122223333:root", "AWS::::Account", false},
		{"container without a cluster", gdtypes.Resource{ResourceType: sdk.String("Container"), ContainerDetails: &gdtypes.Container{Name: sdk.String("c")}},
			"", "GuardDuty::Container", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.resource
			f := native.FromGuardDuty(&gdtypes.Finding{Arn: sdk.String("arn:aws:guardduty:us-east-1:111122223333:detector/d/finding/1"),
				AccountId: sdk.String(acct), Region: sdk.String("us-east-1"), Severity: sdk.Float64(5), Type: sdk.String("T"), Resource: &r})
			if f.ResourceARN != c.arn || f.ResourceType != c.rtype {
				t.Errorf("resource %s (%s), want %s (%s)", f.ResourceARN, f.ResourceType, c.arn, c.rtype)
			}
			if got := native.Unmatched(f) != ""; got != c.unmatched {
				t.Errorf("unmatched %v (%q), want %v", got, native.Unmatched(f), c.unmatched)
			}
			if kind, name := native.IAMPrincipal(f); c.rtype == "AWS::IAM::User" && (kind != "user" || name != "alice") {
				t.Errorf("IAM name %s %s", kind, name)
			}
		})
	}
}

func TestInspectorAndSSMResourcesMapToInventoryARNs(t *testing.T) {
	insp := func(rtype i2types.ResourceType, id string) *finding.Finding {
		return native.FromInspector(&i2types.Finding{FindingArn: sdk.String("arn:aws:inspector2:us-east-1:111122223333:finding/1"),
			AwsAccountId: sdk.String(acct), Type: i2types.FindingTypePackageVulnerability, Severity: i2types.SeverityHigh,
			Resources: []i2types.Resource{{Type: rtype, Id: sdk.String(id), Region: sdk.String("us-east-1")}}})
	}
	for _, c := range []struct {
		f         *finding.Finding
		arn       string
		unmatched bool
	}{
		{insp(i2types.ResourceTypeAwsEc2Instance, "i-0abc"), "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc", false},
		{insp(i2types.ResourceTypeAwsEcrContainerImage, "arn:aws:ecr:us-east-1:111122223333:repository/app/sha256:ab12"), "arn:aws:ecr:us-east-1:111122223333:repository/app", false},
		{insp(i2types.ResourceTypeAwsLambdaFunction, "arn:aws:lambda:us-east-1:111122223333:function:f:$LATEST"), "arn:aws:lambda:us-east-1:111122223333:function:f", false},
		{insp(i2types.ResourceTypeCodeRepository, "github/acme/app"), "github/acme/app", true},
		{native.FromPatchState("aws", acct, "us-east-1", &ssmtypes.InstancePatchState{InstanceId: sdk.String("i-0abc")}),
			"arn:aws:ec2:us-east-1:111122223333:instance/i-0abc", false},
		{native.FromPatchState("aws", acct, "us-east-1", &ssmtypes.InstancePatchState{InstanceId: sdk.String("mi-0abc")}),
			"arn:aws:ssm:us-east-1:111122223333:managed-instance/mi-0abc", false},
	} {
		if c.f.ResourceARN != c.arn || (native.Unmatched(c.f) != "") != c.unmatched {
			t.Errorf("%s: resource %s (unmatched %q), want %s", c.f.ResourceType, c.f.ResourceARN, native.Unmatched(c.f), c.arn)
		}
	}
}

func TestMatchedRemovesTheMark(t *testing.T) {
	f := &finding.Finding{Evidence: json.RawMessage(`{"a":1}`)}
	native.MarkUnmatched(f, "AIDA1", "why")
	if f.ResourceARN != "AIDA1" || native.Unmatched(f) != "why" {
		t.Fatalf("marked: %s %s", f.ResourceARN, f.Evidence)
	}
	native.Matched(f, "arn:aws:iam::1:user/p/a")
	if f.ResourceARN != "arn:aws:iam::1:user/p/a" || native.Unmatched(f) != "" || string(f.Evidence) != `{"a":1}` {
		t.Errorf("matched: %s %s", f.ResourceARN, f.Evidence)
	}
}
