package s3_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	s3c "github.com/yagura-dev/yagura/internal/collect/s3"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/mototest"
)

const mgmt = "123456789012"

// memberAccount creates an organization and one member account, returning the member's id and
// a configuration whose credentials moto ties to it.
func memberAccount(t *testing.T, cfg aws.Config) (string, aws.Config) {
	t.Helper()
	ctx := context.Background()
	org := organizations.NewFromConfig(cfg)
	if _, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}); err != nil {
		t.Fatalf("CreateOrganization: %v", err)
	}
	out, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("member"), Email: aws.String("member@example.com")})
	if err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	id := aws.ToString(out.CreateAccountStatus.AccountId)
	return id, awsx.AssumeConfig(cfg, mgmt, id, awsx.RoleOptions{RoleName: "OrganizationAccountAccessRole"})
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func decode(t *testing.T, r *inventory.Resource) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Config, &m); err != nil {
		t.Fatalf("config of %s: %v", r.ARN, err)
	}
	return m
}

func createBucket(t *testing.T, c *awss3.Client, name, region string) {
	t.Helper()
	in := &awss3.CreateBucketInput{Bucket: aws.String(name)}
	if region != "us-east-1" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(region)}
	}
	_, err := c.CreateBucket(context.Background(), in)
	must(t, err, "CreateBucket "+name)
}

func awsCLI(t *testing.T, endpoint string, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("aws CLI not installed")
	}
	cmd := exec.Command("aws", append([]string{"--endpoint-url", endpoint, "--output", "json"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("aws %v: %v %s", args, err, stderr)
	}
	return out
}

func TestBuckets(t *testing.T) {
	srv := mototest.New(t)
	ctx := context.Background()
	cfg := srv.Config(t, "us-east-1")
	memberID, memberCfg := memberAccount(t, cfg)

	use1 := awss3.NewFromConfig(cfg, awsx.S3Options(cfg))
	euCfg := srv.Config(t, "eu-west-1")
	euw1 := awss3.NewFromConfig(euCfg, awsx.S3Options(euCfg))

	// Public by ACL.
	createBucket(t, use1, "acl-public", "us-east-1")
	_, err := use1.PutBucketAcl(ctx, &awss3.PutBucketAclInput{Bucket: aws.String("acl-public"), ACL: types.BucketCannedACLPublicRead})
	must(t, err, "PutBucketAcl")
	// Public by policy, in eu-west-1.
	createBucket(t, euw1, "policy-public", "eu-west-1")
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::policy-public/*"}]}`
	_, err = euw1.PutBucketPolicy(ctx, &awss3.PutBucketPolicyInput{Bucket: aws.String("policy-public"), Policy: aws.String(policy)})
	must(t, err, "PutBucketPolicy")
	// SSE-KMS with versioning and logging.
	keyOut, err := kms.NewFromConfig(cfg).CreateKey(ctx, &kms.CreateKeyInput{})
	must(t, err, "CreateKey")
	keyArn := aws.ToString(keyOut.KeyMetadata.Arn)
	createBucket(t, use1, "kms-bucket", "us-east-1")
	_, err = use1.PutBucketEncryption(ctx, &awss3.PutBucketEncryptionInput{Bucket: aws.String("kms-bucket"),
		ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{Rules: []types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(keyArn)},
		}}}})
	must(t, err, "PutBucketEncryption")
	_, err = use1.PutBucketVersioning(ctx, &awss3.PutBucketVersioningInput{Bucket: aws.String("kms-bucket"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	must(t, err, "PutBucketVersioning")
	_, err = use1.PutPublicAccessBlock(ctx, &awss3.PutPublicAccessBlockInput{Bucket: aws.String("kms-bucket"),
		PublicAccessBlockConfiguration: &types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}})
	must(t, err, "PutPublicAccessBlock")
	_, err = use1.PutBucketTagging(ctx, &awss3.PutBucketTaggingInput{Bucket: aws.String("kms-bucket"),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("team"), Value: aws.String("sre")}}}})
	must(t, err, "PutBucketTagging")
	// No encryption configured by us.
	createBucket(t, use1, "plain", "us-east-1")
	// Account-level public access block in the management account only.
	_, err = s3control.NewFromConfig(cfg).PutPublicAccessBlock(ctx, &s3control.PutPublicAccessBlockInput{AccountId: aws.String(mgmt),
		PublicAccessBlockConfiguration: &s3ctypes.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}})
	must(t, err, "s3control PutPublicAccessBlock")
	// A bucket of the member account.
	memberS3 := awss3.NewFromConfig(memberCfg, awsx.S3Options(memberCfg))
	createBucket(t, memberS3, "member-bucket", "us-east-1")

	sink, err := collecttest.Run(t, "s3.buckets", cfg, mgmt, "us-east-1")
	must(t, err, "s3.buckets")
	buckets := sink.ByType(s3c.TypeBucket)
	if len(buckets) != 4 {
		t.Fatalf("management account: got %d buckets, want 4", len(buckets))
	}
	for _, b := range buckets {
		if b.AccountID != mgmt || b.ARN != "arn:aws:s3:::"+b.Name || len(b.Errors) != 0 {
			t.Errorf("bucket %+v: wrong account/ARN or errors", b)
		}
	}

	t.Run("public by ACL", func(t *testing.T) {
		b := sink.ByARN("arn:aws:s3:::acl-public")
		c := decode(t, b)
		if b.Region != "us-east-1" || c["Policy"] != nil {
			t.Errorf("region %q policy %v", b.Region, c["Policy"])
		}
		grants, _ := json.Marshal(c["Acl"])
		if !strings.Contains(string(grants), "http://acs.amazonaws.com/groups/global/AllUsers") || !strings.Contains(string(grants), `"READ"`) {
			t.Errorf("AllUsers READ grant missing: %s", grants)
		}
	})
	t.Run("public by policy", func(t *testing.T) {
		b := sink.ByARN("arn:aws:s3:::policy-public")
		c := decode(t, b)
		if b.Region != "eu-west-1" || c["Region"] != "eu-west-1" {
			t.Errorf("region %q / %v, want eu-west-1", b.Region, c["Region"])
		}
		doc, ok := c["Policy"].(map[string]any)
		if !ok {
			t.Fatalf("Policy is not an object: %#v", c["Policy"])
		}
		st := doc["Statement"].([]any)[0].(map[string]any)
		if st["Principal"] != "*" || st["Effect"] != "Allow" {
			t.Errorf("statement %v", st)
		}
		if _, ok := c["PolicyStatus"]; !ok {
			t.Errorf("PolicyStatus key absent")
		}
		// Cross-check with the AWS CLI.
		var cli struct{ Policy string }
		must(t, json.Unmarshal(awsCLI(t, srv.URL, "s3api", "get-bucket-policy", "--bucket", "policy-public", "--region", "eu-west-1"), &cli), "cli json")
		var want any
		must(t, json.Unmarshal([]byte(cli.Policy), &want), "cli policy json")
		got, _ := json.Marshal(doc)
		wantJSON, _ := json.Marshal(want)
		if string(got) != string(wantJSON) {
			t.Errorf("policy differs from the CLI's:\n got %s\nwant %s", got, wantJSON)
		}
	})
	t.Run("SSE-KMS", func(t *testing.T) {
		b := sink.ByARN("arn:aws:s3:::kms-bucket")
		c := decode(t, b)
		enc, _ := json.Marshal(c["Encryption"])
		if !strings.Contains(string(enc), `"aws:kms"`) || !strings.Contains(string(enc), keyArn) {
			t.Errorf("Encryption %s", enc)
		}
		if v := c["Versioning"].(map[string]any); v["Status"] != "Enabled" {
			t.Errorf("Versioning %v", v)
		}
		if pab, _ := c["PublicAccessBlock"].(map[string]any); pab["BlockPublicPolicy"] != true {
			t.Errorf("PublicAccessBlock %v", c["PublicAccessBlock"])
		}
		if b.Tags["team"] != "sre" {
			t.Errorf("tags %v", b.Tags)
		}
		if !sink.HasRelationship(b.ARN, inventory.RelEncryptedBy, keyArn) {
			t.Errorf("no encrypted-by relationship to %s: %v", keyArn, sink.Relationships)
		}
	})
	t.Run("no encryption configured", func(t *testing.T) {
		c := decode(t, sink.ByARN("arn:aws:s3:::plain"))
		for _, k := range []string{"Encryption", "Policy", "PublicAccessBlock", "Logging", "ObjectLock", "OwnershipControls", "Versioning", "Acl"} {
			if _, ok := c[k]; !ok {
				t.Errorf("key %s absent", k)
			}
		}
		// moto applies no default encryption to a new bucket (real S3 applies SSE-S3 since
		// 2023); whichever it says is recorded as is, and never an SSE-KMS rule.
		enc, _ := json.Marshal(c["Encryption"])
		if strings.Contains(string(enc), "aws:kms") {
			t.Errorf("Encryption %s", enc)
		}
		t.Logf("moto's encryption answer for a bucket without configuration: %s", enc)
		if c["PublicAccessBlock"] != nil || c["Policy"] != nil || c["Logging"] != nil {
			t.Errorf("unconfigured settings must be null: %v", c)
		}
	})
	t.Run("cross-check list with CLI", func(t *testing.T) {
		var cli struct{ Buckets []struct{ Name string } }
		must(t, json.Unmarshal(awsCLI(t, srv.URL, "s3api", "list-buckets"), &cli), "cli json")
		if len(cli.Buckets) != len(buckets) {
			t.Errorf("CLI lists %d buckets, collector %d", len(cli.Buckets), len(buckets))
		}
		for _, b := range cli.Buckets {
			if sink.ByARN("arn:aws:s3:::"+b.Name) == nil {
				t.Errorf("bucket %s from the CLI not collected", b.Name)
			}
		}
	})
	t.Run("member account", func(t *testing.T) {
		ms, err := collecttest.Run(t, "s3.buckets", memberCfg, memberID, "us-east-1")
		must(t, err, "s3.buckets member")
		bs := ms.ByType(s3c.TypeBucket)
		if len(bs) != 1 || bs[0].Name != "member-bucket" || bs[0].AccountID != memberID {
			t.Fatalf("member buckets %+v", bs)
		}
	})
	t.Run("account public access block", func(t *testing.T) {
		ms, err := collecttest.Run(t, "s3.account-public-access-block", cfg, mgmt, "us-east-1")
		must(t, err, "management")
		r := ms.ByARN("arn:aws:s3::" + mgmt + ":account-public-access-block")
		if r == nil || r.Type != s3c.TypeAccountPublicAccessBlock || r.Region != "global" {
			t.Fatalf("management PAB %+v", ms.Resources)
		}
		if pab, _ := decode(t, r)["PublicAccessBlockConfiguration"].(map[string]any); pab["RestrictPublicBuckets"] != true {
			t.Errorf("management PAB config %s", r.Config)
		}
		mr, err := collecttest.Run(t, "s3.account-public-access-block", memberCfg, memberID, "us-east-1")
		must(t, err, "member")
		r = mr.ByARN("arn:aws:s3::" + memberID + ":account-public-access-block")
		if r == nil {
			t.Fatalf("member PAB missing: %+v", mr.Resources)
		}
		if c := decode(t, r); c["PublicAccessBlockConfiguration"] != nil {
			t.Errorf("member has no PAB, want null: %s", r.Config)
		}
	})
}

// faultProxy forwards to moto except for the requests match selects, which answer handles.
func faultProxy(t *testing.T, target string, match func(*http.Request) bool, answer func(w http.ResponseWriter)) *httptest.Server {
	u, err := url.Parse(target)
	must(t, err, "parse")
	rp := httputil.NewSingleHostReverseProxy(u)
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if match(r) {
			answer(w)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

// isGet matches GET requests carrying the sub-resource query key (S3's "?policy", "?location").
func isGet(key string) func(*http.Request) bool {
	return func(r *http.Request) bool { return r.Method == http.MethodGet && r.URL.Query().Has(key) }
}

// accessDenied answers in S3's real error format.
func accessDenied(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>4442587FB7D0A2F9</RequestId><HostId>host</HostId></Error>`)
}

func TestBucketPolicyFaults(t *testing.T) {
	srv := mototest.New(t)
	cfg := srv.Config(t, "us-east-1")
	c := awss3.NewFromConfig(cfg, awsx.S3Options(cfg))
	createBucket(t, c, "guarded", "us-east-1")

	t.Run("denied", func(t *testing.T) {
		p := faultProxy(t, srv.URL, isGet("policy"), accessDenied)
		pcfg, err := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: p.URL})
		must(t, err, "Load")
		sink, err := collecttest.Run(t, "s3.buckets", pcfg, mgmt, "us-east-1")
		must(t, err, "s3.buckets")
		r := sink.ByARN("arn:aws:s3:::guarded")
		if r == nil {
			t.Fatalf("bucket not written: %+v", sink.Resources)
		}
		if !strings.HasPrefix(r.Errors["Policy"], "access denied") {
			t.Errorf("Errors = %v, want Policy access denied", r.Errors)
		}
		if len(r.Errors) != 1 {
			t.Errorf("only Policy should fail: %v", r.Errors)
		}
		if c := decode(t, r); c["Policy"] != nil || c["Acl"] == nil {
			t.Errorf("Policy must be null and other reads kept: %s", r.Config)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		p := faultProxy(t, srv.URL, isGet("policy"), func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",`)
		})
		pcfg, err := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: p.URL})
		must(t, err, "Load")
		sink, err := collecttest.Run(t, "s3.buckets", pcfg, mgmt, "us-east-1")
		must(t, err, "s3.buckets")
		r := sink.ByARN("arn:aws:s3:::guarded")
		if r == nil {
			t.Fatalf("bucket not written")
		}
		if !strings.Contains(r.Errors["Policy"], "malformed policy") {
			t.Errorf("Errors = %v", r.Errors)
		}
		if s, ok := decode(t, r)["Policy"].(string); !ok || !strings.HasPrefix(s, `{"Version"`) {
			t.Errorf("malformed policy must be kept as a string: %s", r.Config)
		}
	})
}

func TestBucketListingFaults(t *testing.T) {
	srv := mototest.New(t)
	euCfg := srv.Config(t, "eu-west-1")
	createBucket(t, awss3.NewFromConfig(euCfg, awsx.S3Options(euCfg)), "far-away", "eu-west-1")
	load := func(p *httptest.Server) aws.Config {
		c, err := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: p.URL, MaxAttempts: 2})
		must(t, err, "Load")
		return c
	}

	t.Run("location denied", func(t *testing.T) {
		p := faultProxy(t, srv.URL, isGet("location"), accessDenied)
		sink, err := collecttest.Run(t, "s3.buckets", load(p), mgmt, "us-east-1")
		must(t, err, "s3.buckets")
		r := sink.ByARN("arn:aws:s3:::far-away")
		if r == nil || !strings.HasPrefix(r.Errors["Region"], "access denied") {
			t.Fatalf("bucket %+v", r)
		}
		// The region then comes from ListBuckets' BucketRegion when S3 gives it, else the home
		// region: either way the bucket is written and says why its region is uncertain.
		t.Logf("region without GetBucketLocation: %s", r.Region)
	})
	t.Run("listing denied", func(t *testing.T) {
		p := faultProxy(t, srv.URL, func(r *http.Request) bool { return r.Method == http.MethodGet && r.URL.Path == "/" }, accessDenied)
		sink, err := collecttest.Run(t, "s3.buckets", load(p), mgmt, "us-east-1")
		if !awsx.IsDenied(err) {
			t.Fatalf("ListBuckets denied must fail the collector as denied, got %v", err)
		}
		if len(sink.Resources) != 0 {
			t.Errorf("nothing can be written: %+v", sink.Resources)
		}
	})
}

func TestParsePolicy(t *testing.T) {
	if v, err := s3c.ParsePolicy(`{"a":1}`); err != nil || v.(map[string]any)["a"] != float64(1) {
		t.Errorf("valid: %v %v", v, err)
	}
	if v, err := s3c.ParsePolicy(`{`); err == nil || v != "{" {
		t.Errorf("invalid: %v %v", v, err)
	}
}
