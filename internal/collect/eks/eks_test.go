package eks_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	_ "github.com/yagura-dev/yagura/internal/collect/eks"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/mototest"
)

const mgmt = "123456789012"

func TestEKSClusters(t *testing.T) {
	srv := mototest.New(t)
	ctx := context.Background()
	cfg := srv.Config(t, "us-east-1")
	org := organizations.NewFromConfig(cfg)
	if _, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}); err != nil {
		t.Fatal(err)
	}
	acct, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("k8s"), Email: aws.String("k8s@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	member := aws.ToString(acct.CreateAccountStatus.AccountId)
	memberCfg := awsx.AssumeConfig(cfg, mgmt, member, awsx.RoleOptions{RoleName: "OrganizationAccountAccessRole"})

	roleARN := "arn:aws:iam::" + mgmt + ":role/eks-cluster"
	if _, err := eks.NewFromConfig(cfg).CreateCluster(ctx, &eks.CreateClusterInput{
		Name: aws.String("prod"), Version: aws.String("1.29"), RoleArn: aws.String(roleARN),
		ResourcesVpcConfig: &types.VpcConfigRequest{
			SubnetIds: []string{"subnet-1111", "subnet-2222"}, SecurityGroupIds: []string{"sg-1234"},
			EndpointPublicAccess: aws.Bool(true), EndpointPrivateAccess: aws.Bool(false), PublicAccessCidrs: []string{"0.0.0.0/0"},
		},
		Logging: &types.Logging{ClusterLogging: []types.LogSetup{{Enabled: aws.Bool(true), Types: []types.LogType{types.LogTypeApi, types.LogTypeAudit}}}},
		Tags:    map[string]string{"env": "prod"},
	}); err != nil {
		t.Fatal(err)
	}
	eu := memberCfg.Copy()
	eu.Region = "eu-west-1"
	if _, err := eks.NewFromConfig(eu).CreateCluster(ctx, &eks.CreateClusterInput{
		Name: aws.String("internal"), RoleArn: aws.String("arn:aws:iam::" + member + ":role/eks"),
		ResourcesVpcConfig: &types.VpcConfigRequest{SubnetIds: []string{"subnet-3333"}, EndpointPublicAccess: aws.Bool(false), EndpointPrivateAccess: aws.Bool(true)},
		EncryptionConfig:   []types.EncryptionConfig{{Resources: []string{"secrets"}, Provider: &types.Provider{KeyArn: aws.String("arn:aws:kms:eu-west-1:" + member + ":key/abcd")}}},
	}); err != nil {
		t.Fatal(err)
	}

	sink, err := collecttest.Run(t, "eks.clusters", cfg, mgmt, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:eks:us-east-1:" + mgmt + ":cluster/prod"
	r := sink.ByARN(arn)
	if r == nil {
		t.Fatalf("cluster not collected: %+v", sink.Resources)
	}
	if r.Type != "AWS::EKS::Cluster" || r.AccountID != mgmt || r.Region != "us-east-1" || r.Name != "prod" || r.Tags["env"] != "prod" || len(r.Errors) != 0 {
		t.Errorf("resource = %+v", r)
	}
	var c struct {
		Version            string
		ResourcesVpcConfig struct {
			EndpointPublicAccess bool
			PublicAccessCidrs    []string
		}
		Logging struct{ ClusterLogging []struct{ Enabled bool } }
	}
	if err := json.Unmarshal(r.Config, &c); err != nil {
		t.Fatal(err)
	}
	if c.Version != "1.29" || !c.ResourcesVpcConfig.EndpointPublicAccess || strings.Join(c.ResourcesVpcConfig.PublicAccessCidrs, ",") != "0.0.0.0/0" {
		t.Errorf("config = %s", r.Config)
	}
	if len(c.Logging.ClusterLogging) == 0 || !c.Logging.ClusterLogging[0].Enabled {
		t.Errorf("logging = %+v", c.Logging)
	}
	for _, want := range []inventory.Relationship{
		{From: arn, Kind: inventory.RelAssumesRole, To: roleARN},
		{From: arn, Kind: inventory.RelUsesSecurityGroup, To: "arn:aws:ec2:us-east-1:" + mgmt + ":security-group/sg-1234"},
		{From: arn, Kind: inventory.RelInSubnet, To: "arn:aws:ec2:us-east-1:" + mgmt + ":subnet/subnet-2222"},
	} {
		if !sink.HasRelationship(want.From, want.Kind, want.To) {
			t.Errorf("missing %+v in %+v", want, sink.Relationships)
		}
	}

	ms, err := collecttest.Run(t, "eks.clusters", memberCfg, member, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	m := ms.ByARN("arn:aws:eks:eu-west-1:" + member + ":cluster/internal")
	if m == nil || len(ms.Resources) != 1 || m.AccountID != member || m.Region != "eu-west-1" {
		t.Fatalf("member resources = %+v", ms.Resources)
	}
	var mc map[string]any
	json.Unmarshal(m.Config, &mc)
	if vpc, _ := mc["ResourcesVpcConfig"].(map[string]any); vpc["EndpointPublicAccess"] != false {
		t.Errorf("member vpc config = %v", mc["ResourcesVpcConfig"])
	}
	if enc, _ := mc["EncryptionConfig"].([]any); len(enc) != 1 {
		t.Errorf("member encryption = %v", mc["EncryptionConfig"])
	}
	if !ms.HasRelationship(m.ARN, inventory.RelEncryptedBy, "arn:aws:kms:eu-west-1:"+member+":key/abcd") {
		t.Errorf("member relationships = %+v", ms.Relationships)
	}
}

func TestEKSAccessDenied(t *testing.T) {
	mototest.SetTestEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amzn-ErrorType", "AccessDeniedException")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"message":"User is not authorized to perform: eks:ListClusters"}`))
	}))
	defer srv.Close()
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: srv.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := collecttest.Run(t, "eks.clusters", cfg, mgmt, "us-east-1")
	if outcome, _ := awsx.Classify(err); outcome != awsx.OutcomeDenied || len(sink.Resources) != 0 {
		t.Errorf("outcome %q (err %v), %d resources", outcome, err, len(sink.Resources))
	}
}

// A cluster whose DescribeCluster is refused is still recorded, with the reason.
func TestEKSDescribeDenied(t *testing.T) {
	srv := mototest.New(t)
	ctx := context.Background()
	target, _ := url.Parse(srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/clusters/") {
			w.Header().Set("x-amzn-ErrorType", "AccessDeniedException")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"message":"User is not authorized to perform: eks:DescribeCluster"}`))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	cfg, err := awsx.Load(ctx, awsx.Options{Region: "us-east-1", EndpointURL: front.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eks.NewFromConfig(cfg).CreateCluster(ctx, &eks.CreateClusterInput{
		Name: aws.String("hidden"), RoleArn: aws.String("arn:aws:iam::" + mgmt + ":role/eks"),
		ResourcesVpcConfig: &types.VpcConfigRequest{SubnetIds: []string{"subnet-1"}},
	}); err != nil {
		t.Fatal(err)
	}
	sink, err := collecttest.Run(t, "eks.clusters", cfg, mgmt, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	r := sink.ByARN("arn:aws:eks:us-east-1:" + mgmt + ":cluster/hidden")
	if r == nil || !strings.HasPrefix(r.Errors["Cluster"], "access denied") || string(r.Config) != `{"Name":"hidden"}` {
		t.Errorf("resources = %+v", sink.Resources)
	}
}
