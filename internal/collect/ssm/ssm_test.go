package ssm_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	_ "github.com/yagura-dev/yagura/internal/collect/ssm"
	"github.com/yagura-dev/yagura/internal/mototest"
)

const mgmt = "123456789012"

// ssmAPI answers in SSM's JSON 1.1 wire format (X-Amz-Target: AmazonSSM.<Operation>), as moto
// 5.2 implements neither DescribeInstanceInformation nor GetServiceSetting.
type ssmAPI struct {
	mu      sync.Mutex
	targets []string
}

func (a *ssmAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	var in struct{ NextToken, SettingId string }
	json.NewDecoder(r.Body).Decode(&in)
	a.mu.Lock()
	a.targets = append(a.targets, target+"|"+in.NextToken)
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch target {
	case "AmazonSSM.DescribeInstanceInformation":
		if in.NextToken == "" {
			w.Write([]byte(`{"InstanceInformationList":[
{"InstanceId":"i-0abc1234def567890","PingStatus":"Online","LastPingDateTime":1.7166e9,"AgentVersion":"3.3.380.0","IsLatestVersion":false,"PlatformType":"Linux","PlatformName":"Amazon Linux","PlatformVersion":"2023","ResourceType":"EC2Instance","IPAddress":"10.0.1.15","ComputerName":"ip-10-0-1-15.ec2.internal"},
{"InstanceId":"i-0ffff0000eeee1111","PingStatus":"ConnectionLost","LastPingDateTime":1.7000e9,"AgentVersion":"2.3.1.0","IsLatestVersion":false,"PlatformType":"Windows","PlatformName":"Microsoft Windows Server 2019 Datacenter","ResourceType":"EC2Instance"}
],"NextToken":"more"}`))
			return
		}
		w.Write([]byte(`{"InstanceInformationList":[{"InstanceId":"mi-0123456789abcdef0","PingStatus":"Online","AgentVersion":"3.3.380.0","IsLatestVersion":true,"PlatformType":"Linux","ResourceType":"ManagedInstance","IamRole":"SSMServiceRole","ActivationId":"a1b2c3d4","RegistrationDate":1.69e9}]}`))
	case "AmazonSSM.GetServiceSetting":
		w.Write([]byte(`{"ServiceSetting":{"SettingId":"` + in.SettingId + `","SettingValue":"Enable","Status":"Default","ARN":"arn:aws:ssm:us-east-1:` + mgmt + `:servicesetting` + in.SettingId + `","LastModifiedUser":"System","LastModifiedDate":1.6e9}}`))
	default:
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"__type":"InvalidAction","message":"unknown ` + target + `"}`))
	}
}

func TestSSMManagedInstances(t *testing.T) {
	mototest.SetTestEnv(t)
	api := &ssmAPI{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := collecttest.Run(t, "ssm.managed-instances", cfg, mgmt, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(api.targets, ",") != "AmazonSSM.DescribeInstanceInformation|,AmazonSSM.DescribeInstanceInformation|more" {
		t.Errorf("requests = %v", api.targets)
	}
	if len(sink.Resources) != 3 {
		t.Fatalf("resources = %+v", sink.Resources)
	}
	ec2 := sink.ByARN("arn:aws:ssm:us-east-1:" + mgmt + ":managed-instance/i-0abc1234def567890")
	if ec2 == nil || ec2.Type != "AWS::SSM::ManagedInstance" || ec2.AccountID != mgmt || ec2.Region != "us-east-1" || ec2.Name != "i-0abc1234def567890" {
		t.Fatalf("ec2 node = %+v", ec2)
	}
	var c map[string]any
	json.Unmarshal(ec2.Config, &c)
	if c["PingStatus"] != "Online" || c["AgentVersion"] != "3.3.380.0" || c["PlatformType"] != "Linux" || c["IsLatestVersion"] != false {
		t.Errorf("ec2 node config = %v", c)
	}
	if !sink.HasRelationship(ec2.ARN, "managed-instance-of", "arn:aws:ec2:us-east-1:"+mgmt+":instance/i-0abc1234def567890") {
		t.Errorf("relationships = %+v", sink.Relationships)
	}
	lost := sink.ByARN("arn:aws:ssm:us-east-1:" + mgmt + ":managed-instance/i-0ffff0000eeee1111")
	json.Unmarshal(lost.Config, &c)
	if c["PingStatus"] != "ConnectionLost" || c["PlatformType"] != "Windows" {
		t.Errorf("lost node config = %v", c)
	}
	if !sink.HasRelationship("arn:aws:ssm:us-east-1:"+mgmt+":managed-instance/mi-0123456789abcdef0", "assumes-role", "arn:aws:iam::"+mgmt+":role/SSMServiceRole") {
		t.Errorf("hybrid node relationships = %+v", sink.Relationships)
	}

	// The AWS CLI reads the same nodes from the same stub.
	if _, err := exec.LookPath("aws"); err == nil {
		out, err := exec.Command("aws", "--endpoint-url", srv.URL, "--region", "us-east-1", "--output", "json",
			"ssm", "describe-instance-information").Output()
		if err != nil {
			t.Fatalf("aws ssm describe-instance-information: %v", err)
		}
		var cli struct {
			InstanceInformationList []struct{ InstanceId, PingStatus string }
		}
		if err := json.Unmarshal(out, &cli); err != nil {
			t.Fatal(err)
		}
		var fromCLI, fromYagura []string
		for _, i := range cli.InstanceInformationList {
			fromCLI = append(fromCLI, i.InstanceId+"/"+i.PingStatus)
		}
		for _, r := range sink.Resources {
			var x struct{ InstanceId, PingStatus string }
			json.Unmarshal(r.Config, &x)
			fromYagura = append(fromYagura, x.InstanceId+"/"+x.PingStatus)
		}
		sort.Strings(fromCLI)
		sort.Strings(fromYagura)
		if strings.Join(fromCLI, ",") != strings.Join(fromYagura, ",") {
			t.Errorf("CLI %v, yagura %v", fromCLI, fromYagura)
		}
	}
}

func TestSSMServiceSettings(t *testing.T) {
	mototest.SetTestEnv(t)
	srv := httptest.NewServer(&ssmAPI{})
	defer srv.Close()
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := collecttest.Run(t, "ssm.service-settings", cfg, mgmt, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	r := sink.ByARN("arn:aws:ssm:us-east-1:" + mgmt + ":servicesetting/ssm/documents/console/public-sharing-permission")
	if r == nil || r.Type != "AWS::SSM::ServiceSetting" || r.AccountID != mgmt || r.Region != "us-east-1" {
		t.Fatalf("resources = %+v", sink.Resources)
	}
	var c map[string]any
	json.Unmarshal(r.Config, &c)
	if c["SettingId"] != "/ssm/documents/console/public-sharing-permission" || c["SettingValue"] != "Enable" {
		t.Errorf("setting = %v", c)
	}
}

func TestSSMAccessDenied(t *testing.T) {
	mototest.SetTestEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"__type":"AccessDeniedException","message":"User is not authorized to perform: ssm:DescribeInstanceInformation"}`))
	}))
	defer srv.Close()
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: srv.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ssm.managed-instances", "ssm.service-settings"} {
		sink, err := collecttest.Run(t, name, cfg, mgmt, "us-east-1")
		if outcome, _ := awsx.Classify(err); outcome != awsx.OutcomeDenied || len(sink.Resources) != 0 {
			t.Errorf("%s: outcome %q (err %v), %d resources", name, outcome, err, len(sink.Resources))
		}
	}
}
