package check_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/account"
	actypes "github.com/aws/aws-sdk-go-v2/service/account/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	efstypes "github.com/aws/aws-sdk-go-v2/service/efs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/check"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/mototest"
	"github.com/yagura-dev/yagura/internal/scan"
	"github.com/yagura-dev/yagura/internal/store"

	_ "github.com/yagura-dev/yagura/internal/collect/account"
	_ "github.com/yagura-dev/yagura/internal/collect/cloudtrail"
	_ "github.com/yagura-dev/yagura/internal/collect/ec2"
	_ "github.com/yagura-dev/yagura/internal/collect/efs"
	_ "github.com/yagura-dev/yagura/internal/collect/iam"
	_ "github.com/yagura-dev/yagura/internal/collect/kms"
	_ "github.com/yagura-dev/yagura/internal/collect/s3"
)

const moto = "123456789012"

// TestScanEvaluatesChecks plants one failing and one passing resource per check family in moto,
// runs a real scan with the checks hooked in after collection, and asserts the stored findings
// by control and resource ARN.
func TestScanEvaluatesChecks(t *testing.T) {
	srv := mototest.New(t)
	cfg := srv.Config(t, "us-east-1")
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// S3: a bucket readable by anyone and one that only admits TLS from its own account.
	s3c := s3.NewFromConfig(cfg, awsx.S3Options(cfg))
	for _, b := range []string{"open-bucket", "closed-bucket", "trail-logs"} {
		must(s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}))
	}
	must(s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("open-bucket"), Policy: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::open-bucket/*"}]}`)}))
	must(s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("closed-bucket"), Policy: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::closed-bucket","arn:aws:s3:::closed-bucket/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`)}))

	// EC2: SSH open to the world vs HTTPS from a private range.
	ec := ec2.NewFromConfig(cfg)
	vpc, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.20.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	sg := func(name string, port int32, cidr string) string {
		out, err := ec.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name), VpcId: vpc.Vpc.VpcId})
		if err != nil {
			t.Fatal(err)
		}
		must(ec.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: out.GroupId, IpPermissions: []ec2types.IpPermission{{
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port), IpRanges: []ec2types.IpRange{{CidrIp: aws.String(cidr)}}}}}))
		return aws.ToString(out.GroupId)
	}
	openSG, closedSG := sg("open-ssh", 22, "0.0.0.0/0"), sg("private-https", 443, "10.0.0.0/8")

	// IAM: an admin policy and a narrow one; a weak password policy.
	ic := iam.NewFromConfig(cfg)
	admin, err := ic.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("admin"), PolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	narrow, err := ic.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("narrow"), PolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	must(ic.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(8)}))

	// KMS: one key rotating, one not.
	kc := kms.NewFromConfig(cfg)
	rot, err := kc.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	must(kc.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: rot.KeyMetadata.KeyId}))
	still, err := kc.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}

	// CloudTrail: a validated multi-region trail and a plain one.
	ct := cloudtrail.NewFromConfig(cfg)
	good, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("good"), S3BucketName: aws.String("trail-logs"),
		IsMultiRegionTrail: aws.Bool(true), EnableLogFileValidation: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	must(ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("good")}))
	must(ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("good"), EventSelectors: []cttypes.EventSelector{
		{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(true)}}}))
	plain, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("plain"), S3BucketName: aws.String("trail-logs")})
	if err != nil {
		t.Fatal(err)
	}

	// EFS: an encrypted file system with automatic backups and an access point pinned to a
	// directory, and a plain one whose access point exposes the whole file system.
	efsc := efs.NewFromConfig(cfg)
	safeFS, err := efsc.CreateFileSystem(ctx, &efs.CreateFileSystemInput{CreationToken: aws.String("safe"), Encrypted: aws.Bool(true), Backup: aws.Bool(true)})
	must(safeFS, err)
	plainFS, err := efsc.CreateFileSystem(ctx, &efs.CreateFileSystemInput{CreationToken: aws.String("plain")})
	must(plainFS, err)
	safeAP, err := efsc.CreateAccessPoint(ctx, &efs.CreateAccessPointInput{FileSystemId: safeFS.FileSystemId, ClientToken: aws.String("a"),
		RootDirectory: &efstypes.RootDirectory{Path: aws.String("/app")}, PosixUser: &efstypes.PosixUser{Uid: aws.Int64(1000), Gid: aws.Int64(1000)}})
	must(safeAP, err)
	rootAP, err := efsc.CreateAccessPoint(ctx, &efs.CreateAccessPointInput{FileSystemId: plainFS.FileSystemId, ClientToken: aws.String("b")})
	must(rootAP, err)
	// Account: a security contact.
	must(account.NewFromConfig(cfg).PutAlternateContact(ctx, &account.PutAlternateContactInput{AlternateContactType: actypes.AlternateContactTypeSecurity,
		EmailAddress: aws.String("sec@example.com"), Name: aws.String("Security"), PhoneNumber: aws.String("+1-555-0100"), Title: aws.String("CISO")}))

	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "y.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := &scan.Scanner{DB: db, Base: cfg}
	var stats check.Stats
	s.AfterCollect = append(s.AfterCollect, func(ctx context.Context, db *store.DB, scanID int64) error {
		w := db.NewFindingWriter(scanID)
		st, err := check.Evaluate(ctx, check.StoreSource{DB: db, ScanID: scanID}, w, check.Options{})
		stats = st
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		return err
	})
	if _, err := s.Run(ctx, scan.Options{Regions: []string{"us-east-1"}, Services: []string{"s3", "ec2", "iam", "kms", "cloudtrail", "efs", "account"}}); err != nil {
		t.Fatal(err)
	}
	t.Logf("evaluation: %+v", stats)

	sgARN := func(id string) string { return "arn:aws:ec2:us-east-1:" + moto + ":security-group/" + id }
	keyARN := func(id *string) string { return "arn:aws:kms:us-east-1:" + moto + ":key/" + aws.ToString(id) }
	cases := []struct {
		control, arn string
		want         finding.Status
	}{
		{"fsbp:S3.2", "arn:aws:s3:::open-bucket", finding.Fail},
		{"fsbp:S3.2", "arn:aws:s3:::closed-bucket", finding.Pass},
		{"fsbp:S3.5", "arn:aws:s3:::closed-bucket", finding.Pass},
		{"fsbp:S3.5", "arn:aws:s3:::open-bucket", finding.Fail},
		{"fsbp:EC2.13", sgARN(openSG), finding.Fail},
		{"fsbp:EC2.13", sgARN(closedSG), finding.Pass},
		{"cis-aws-3.0:5.2", sgARN(openSG), finding.Fail},
		{"fsbp:IAM.1", aws.ToString(admin.Policy.Arn), finding.Fail},
		{"fsbp:IAM.1", aws.ToString(narrow.Policy.Arn), finding.Pass},
		{"cis-aws-3.0:1.8", "arn:aws:iam::" + moto + ":password-policy", finding.Fail},
		{"fsbp:KMS.4", keyARN(rot.KeyMetadata.KeyId), finding.Pass},
		{"fsbp:KMS.4", keyARN(still.KeyMetadata.KeyId), finding.Fail},
		{"cis-aws-3.0:3.2", aws.ToString(good.TrailARN), finding.Pass},
		{"cis-aws-3.0:3.2", aws.ToString(plain.TrailARN), finding.Fail},
		{"cis-aws-3.0:3.1", "arn:aws::" + moto + ":account", finding.Pass},
		{"fsbp:EFS.1", aws.ToString(safeFS.FileSystemArn), finding.Pass},
		{"fsbp:EFS.1", aws.ToString(plainFS.FileSystemArn), finding.Fail},
		{"fsbp:EFS.2", aws.ToString(safeFS.FileSystemArn), finding.Pass},
		{"fsbp:EFS.2", aws.ToString(plainFS.FileSystemArn), finding.Fail},
		{"fsbp:EFS.3", aws.ToString(safeAP.AccessPointArn), finding.Pass},
		{"fsbp:EFS.3", aws.ToString(rootAP.AccessPointArn), finding.Fail},
		{"fsbp:EFS.4", aws.ToString(rootAP.AccessPointArn), finding.Fail},
		{"fsbp:Account.1", "arn:aws:account::" + moto + ":alternate-contacts", finding.Pass},
	}
	for _, c := range cases {
		fs, err := db.Findings(ctx, store.FindingFilter{Control: c.control, ResourceGlob: c.arn})
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) == 0 {
			all, _ := db.Findings(ctx, store.FindingFilter{Control: c.control})
			for _, f := range all {
				t.Logf("  %s %s %s: %s", f.CheckID, f.ResourceARN, f.Status, f.Detail)
			}
			t.Errorf("%s %s: no finding", c.control, c.arn)
			continue
		}
		if fs[0].Status != c.want {
			t.Errorf("%s %s: %s (%s), want %s", c.control, c.arn, fs[0].Status, fs[0].Detail, c.want)
		}
		if !strings.Contains(fs[0].ID, "") || fs[0].ID != finding.StableID("yagura", fs[0].CheckID, c.arn) {
			t.Errorf("%s: unstable id", c.control)
		}
	}
	// GuardDuty was not scanned: its account-region check says so instead of passing or failing.
	fs, err := db.Findings(ctx, store.FindingFilter{CheckIDs: []string{"guardduty.enabled"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Status != finding.Error {
			t.Errorf("guardduty.enabled without collection: %s %s", f.Status, f.Detail)
		}
	}
}
