package lambda_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	_ "github.com/yagura-dev/yagura/internal/collect/lambda"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/mototest"
)

const mgmt = "123456789012"

var urlsPath = regexp.MustCompile(`^/2021-10-31/functions/([^/]+)/urls$`)

// lambdaFront stands in front of moto. moto 5.2 lacks ListFunctionUrlConfigs, so that call is
// answered from moto's GetFunctionUrlConfig in ListFunctionUrlConfigs' wire shape
// ({"FunctionUrlConfigs":[…],"NextMarker":…}); deny names functions whose GetPolicy answers
// AccessDeniedException; everything else goes to moto unchanged.
func lambdaFront(t *testing.T, motoURL string, deny map[string]bool) string {
	t.Helper()
	target, _ := url.Parse(motoURL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.EscapedPath()
		if m := urlsPath.FindStringSubmatch(path); m != nil && r.Method == http.MethodGet {
			req, _ := http.NewRequest(http.MethodGet, motoURL+"/2021-10-31/functions/"+m[1]+"/url", nil)
			req.Header = r.Header.Clone()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				http.Error(w, err.Error(), 502)
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			w.Header().Set("Content-Type", "application/json")
			if resp.StatusCode == http.StatusNotFound {
				w.Write([]byte(`{"FunctionUrlConfigs":[]}`))
				return
			}
			w.Write([]byte(`{"FunctionUrlConfigs":[` + string(body) + `]}`))
			return
		}
		if r.Method == http.MethodGet && strings.HasSuffix(path, "/policy") {
			name, _ := url.PathUnescape(strings.TrimSuffix(strings.TrimPrefix(path, "/2017-03-31/functions/"), "/policy"))
			if deny[name[strings.LastIndex(name, ":")+1:]] {
				w.Header().Set("x-amzn-ErrorType", "AccessDeniedException")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				w.Write([]byte(`{"Message":"User is not authorized to perform: lambda:GetPolicy"}`))
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func zipped(t *testing.T) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	f, _ := zw.Create("index.py")
	f.Write([]byte("def handler(event, context):\n    return 'ok'\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func role(t *testing.T, cfg aws.Config, name string) string {
	t.Helper()
	out, err := iam.NewFromConfig(cfg).CreateRole(context.Background(), &iam.CreateRoleInput{
		RoleName:                 aws.String(name),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Role.Arn)
}

func configOf(t *testing.T, r *inventory.Resource) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Config, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLambdaFunctions(t *testing.T) {
	srv := mototest.New(t)
	ctx := context.Background()
	base := srv.Config(t, "us-east-1")
	org := organizations.NewFromConfig(base)
	if _, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}); err != nil {
		t.Fatal(err)
	}
	acct, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("app"), Email: aws.String("app@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	member := aws.ToString(acct.CreateAccountStatus.AccountId)

	front := lambdaFront(t, srv.URL, map[string]bool{"secretive": true})
	cfg, err := awsx.Load(ctx, awsx.Options{Region: "us-east-1", EndpointURL: front})
	if err != nil {
		t.Fatal(err)
	}
	memberCfg := awsx.AssumeConfig(cfg, mgmt, member, awsx.RoleOptions{RoleName: "OrganizationAccountAccessRole"})

	// Management account, us-east-1: a function in a VPC with a public, unauthenticated URL and a
	// resource policy open to everyone.
	roleARN := role(t, cfg, "public-fn")
	e := ec2.NewFromConfig(cfg)
	vpc, err := e.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	sn, err := e.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.1.1.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	sg, err := e.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("fn"), Description: aws.String("fn"), VpcId: vpc.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	lc := lambda.NewFromConfig(cfg)
	fn, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("public-fn"), Runtime: types.RuntimePython312, Role: aws.String(roleARN),
		Handler: aws.String("index.handler"), Code: &types.FunctionCode{ZipFile: zipped(t)},
		VpcConfig: &types.VpcConfig{SubnetIds: []string{aws.ToString(sn.Subnet.SubnetId)}, SecurityGroupIds: []string{aws.ToString(sg.GroupId)}},
		Tags:      map[string]string{"Team": "web"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("public-fn"), AuthType: types.FunctionUrlAuthTypeNone}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.AddPermission(ctx, &lambda.AddPermissionInput{
		FunctionName: aws.String("public-fn"), StatementId: aws.String("anyone"), Action: aws.String("lambda:InvokeFunctionUrl"),
		Principal: aws.String("*"), FunctionUrlAuthType: types.FunctionUrlAuthTypeNone,
	}); err != nil {
		t.Fatal(err)
	}
	// A private function, and one whose policy the audit role may not read.
	for _, name := range []string{"private-fn", "secretive"} {
		if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String(name), Runtime: types.RuntimePython312, Role: aws.String(roleARN),
			Handler: aws.String("index.handler"), Code: &types.FunctionCode{ZipFile: zipped(t)},
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Member account, eu-west-1: one function.
	euMember := memberCfg.Copy()
	euMember.Region = "eu-west-1"
	memberRole := role(t, memberCfg, "worker")
	if _, err := lambda.NewFromConfig(euMember).CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("worker"), Runtime: types.RuntimeNodejs20x, Role: aws.String(memberRole),
		Handler: aws.String("index.handler"), Code: &types.FunctionCode{ZipFile: zipped(t)},
	}); err != nil {
		t.Fatal(err)
	}

	sink, err := collecttest.Run(t, "lambda.functions", cfg, mgmt, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:lambda:us-east-1:" + mgmt + ":function:public-fn"
	if got := aws.ToString(fn.FunctionArn); got != arn {
		t.Fatalf("moto ARN %s", got)
	}
	r := sink.ByARN(arn)
	if r == nil {
		t.Fatalf("function not collected: %+v", sink.Resources)
	}
	if r.Type != "AWS::Lambda::Function" || r.AccountID != mgmt || r.Region != "us-east-1" || r.Name != "public-fn" || r.Tags["Team"] != "web" {
		t.Errorf("resource = %+v", r)
	}
	if len(r.Errors) != 0 {
		t.Errorf("errors = %v", r.Errors)
	}
	c := configOf(t, r)
	if c["Runtime"] != "python3.12" || c["Role"] != roleARN {
		t.Errorf("Runtime %v Role %v", c["Runtime"], c["Role"])
	}
	urls, _ := c["FunctionUrlConfigs"].([]any)
	if len(urls) != 1 || urls[0].(map[string]any)["AuthType"] != "NONE" || urls[0].(map[string]any)["FunctionUrl"] == nil {
		t.Errorf("FunctionUrlConfigs = %v", c["FunctionUrlConfigs"])
	}
	policy, _ := c["Policy"].(map[string]any)
	stmts, _ := policy["Statement"].([]any)
	if len(stmts) != 1 {
		t.Fatalf("Policy = %v", c["Policy"])
	}
	st := stmts[0].(map[string]any)
	if p := st["Principal"]; p != "*" && !(func() bool { m, ok := p.(map[string]any); return ok && m["AWS"] == "*" })() {
		t.Errorf("policy principal = %v", p)
	}
	if !sink.HasRelationship(arn, inventory.RelAssumesRole, roleARN) {
		t.Errorf("no function->role relationship: %+v", sink.Relationships)
	}
	if !sink.HasRelationship(arn, inventory.RelUsesSecurityGroup, "arn:aws:ec2:us-east-1:"+mgmt+":security-group/"+aws.ToString(sg.GroupId)) {
		t.Errorf("no function->sg relationship: %+v", sink.Relationships)
	}
	if !sink.HasRelationship(arn, inventory.RelInSubnet, "arn:aws:ec2:us-east-1:"+mgmt+":subnet/"+aws.ToString(sn.Subnet.SubnetId)) {
		t.Errorf("no function->subnet relationship")
	}

	priv := sink.ByARN("arn:aws:lambda:us-east-1:" + mgmt + ":function:private-fn")
	if priv == nil {
		t.Fatal("private-fn not collected")
	}
	pc := configOf(t, priv)
	if pc["Policy"] != nil || len(priv.Errors) != 0 {
		t.Errorf("function without policy: Policy %v errors %v", pc["Policy"], priv.Errors)
	}
	if u, ok := pc["FunctionUrlConfigs"].([]any); !ok || len(u) != 0 {
		t.Errorf("function without URL: FunctionUrlConfigs %v", pc["FunctionUrlConfigs"])
	}

	// A refused follow-up read still writes the function, with the reason.
	sec := sink.ByARN("arn:aws:lambda:us-east-1:" + mgmt + ":function:secretive")
	if sec == nil {
		t.Fatal("secretive not collected")
	}
	if !strings.HasPrefix(sec.Errors["Policy"], "access denied") || configOf(t, sec)["Policy"] != nil {
		t.Errorf("denied GetPolicy: errors %v", sec.Errors)
	}

	// The member account sees only its own function, in its own region.
	ms, err := collecttest.Run(t, "lambda.functions", memberCfg, member, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms.Resources) != 1 || ms.Resources[0].ARN != "arn:aws:lambda:eu-west-1:"+member+":function:worker" || ms.Resources[0].AccountID != member {
		t.Errorf("member resources = %+v", ms.Resources)
	}
	if !ms.HasRelationship(ms.Resources[0].ARN, inventory.RelAssumesRole, memberRole) {
		t.Errorf("member relationships = %+v", ms.Relationships)
	}
	us, err := collecttest.Run(t, "lambda.functions", memberCfg, member, "us-east-1")
	if err != nil || len(us.Resources) != 0 {
		t.Errorf("member us-east-1: %v, %d resources", err, len(us.Resources))
	}
}

func TestLambdaAccessDenied(t *testing.T) {
	mototest.SetTestEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amzn-ErrorType", "AccessDeniedException")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"Message":"User is not authorized to perform: lambda:ListFunctions"}`))
	}))
	defer srv.Close()
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: srv.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := collecttest.Run(t, "lambda.functions", cfg, mgmt, "us-east-1")
	if outcome, _ := awsx.Classify(err); outcome != awsx.OutcomeDenied || len(sink.Resources) != 0 {
		t.Errorf("outcome %q (err %v), %d resources", outcome, err, len(sink.Resources))
	}
}
