package guardduty_test

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
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/guardduty/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	_ "github.com/yagura-dev/yagura/internal/collect/guardduty"
	"github.com/yagura-dev/yagura/internal/mototest"
)

const mgmt = "123456789012"

type status struct {
	Enabled     bool
	DetectorIds []string
}

func TestGuardDutyDetectors(t *testing.T) {
	srv := mototest.New(t)
	ctx := context.Background()
	cfg := srv.Config(t, "us-east-1")
	org := organizations.NewFromConfig(cfg)
	if _, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}); err != nil {
		t.Fatal(err)
	}
	acct, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("dev"), Email: aws.String("dev@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	member := aws.ToString(acct.CreateAccountStatus.AccountId)
	memberCfg := awsx.AssumeConfig(cfg, mgmt, member, awsx.RoleOptions{RoleName: "OrganizationAccountAccessRole"})

	// Management: enabled in us-east-1 only.
	det, err := guardduty.NewFromConfig(cfg).CreateDetector(ctx, &guardduty.CreateDetectorInput{
		Enable: aws.Bool(true), FindingPublishingFrequency: types.FindingPublishingFrequencyFifteenMinutes,
		DataSources: &types.DataSourceConfigurations{S3Logs: &types.S3LogsConfiguration{Enable: aws.Bool(true)}},
		Tags:        map[string]string{"owner": "security"},
	})
	if err != nil {
		t.Fatal(err)
	}
	detID := aws.ToString(det.DetectorId)
	// Member: a suspended detector in eu-west-1.
	eu := memberCfg.Copy()
	eu.Region = "eu-west-1"
	mdet, err := guardduty.NewFromConfig(eu).CreateDetector(ctx, &guardduty.CreateDetectorInput{Enable: aws.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("enabled region", func(t *testing.T) {
		sink, err := collecttest.Run(t, "guardduty.detectors", cfg, mgmt, "us-east-1")
		if err != nil {
			t.Fatal(err)
		}
		r := sink.ByARN("arn:aws:guardduty:us-east-1:" + mgmt + ":detector/" + detID)
		if r == nil || r.Type != "AWS::GuardDuty::Detector" || r.AccountID != mgmt || r.Region != "us-east-1" || r.Tags["owner"] != "security" {
			t.Fatalf("detector = %+v (all %+v)", r, sink.Resources)
		}
		var c map[string]any
		json.Unmarshal(r.Config, &c)
		if c["Status"] != "ENABLED" || c["DetectorId"] != detID || c["FindingPublishingFrequency"] != "FIFTEEN_MINUTES" {
			t.Errorf("detector config = %v", c)
		}
		if _, ok := c["ResultMetadata"]; ok {
			t.Errorf("call metadata leaked into config: %v", c)
		}
		st := sink.ByARN("arn:aws:guardduty:us-east-1:" + mgmt + ":account-status")
		if st == nil || st.Type != "AWS::GuardDuty::AccountStatus" || st.Region != "us-east-1" {
			t.Fatalf("status = %+v", st)
		}
		var s status
		json.Unmarshal(st.Config, &s)
		if !s.Enabled || len(s.DetectorIds) != 1 || s.DetectorIds[0] != detID {
			t.Errorf("status = %s", st.Config)
		}
	})

	t.Run("region without detector", func(t *testing.T) {
		sink, err := collecttest.Run(t, "guardduty.detectors", cfg, mgmt, "eu-west-1")
		if err != nil {
			t.Fatal(err)
		}
		if len(sink.Resources) != 1 {
			t.Fatalf("resources = %+v", sink.Resources)
		}
		st := sink.ByARN("arn:aws:guardduty:eu-west-1:" + mgmt + ":account-status")
		if st == nil || st.AccountID != mgmt || len(st.Errors) != 0 {
			t.Fatalf("status = %+v", sink.Resources[0])
		}
		if string(st.Config) != `{"Enabled":false,"DetectorIds":[]}` {
			t.Errorf("status config = %s", st.Config)
		}
	})

	t.Run("member with suspended detector", func(t *testing.T) {
		sink, err := collecttest.Run(t, "guardduty.detectors", memberCfg, member, "eu-west-1")
		if err != nil {
			t.Fatal(err)
		}
		st := sink.ByARN("arn:aws:guardduty:eu-west-1:" + member + ":account-status")
		if st == nil {
			t.Fatalf("resources = %+v", sink.Resources)
		}
		var s status
		json.Unmarshal(st.Config, &s)
		if s.Enabled || len(s.DetectorIds) != 1 || s.DetectorIds[0] != aws.ToString(mdet.DetectorId) {
			t.Errorf("member status = %s", st.Config)
		}
	})
}

func TestGuardDutyAccessDenied(t *testing.T) {
	mototest.SetTestEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amzn-ErrorType", "AccessDeniedException")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"message":"User is not authorized to perform: guardduty:ListDetectors","__type":"AccessDeniedException"}`))
	}))
	defer srv.Close()
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: srv.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := collecttest.Run(t, "guardduty.detectors", cfg, mgmt, "us-east-1")
	// No status resource either: "not enabled" must not be claimed when the answer is unknown.
	if outcome, _ := awsx.Classify(err); outcome != awsx.OutcomeDenied || len(sink.Resources) != 0 {
		t.Errorf("outcome %q (err %v), %d resources", outcome, err, len(sink.Resources))
	}
}

// A detector whose GetDetector is refused is still recorded, and the region's status says it
// cannot tell whether GuardDuty is on instead of claiming it is off.
func TestGuardDutyGetDetectorDenied(t *testing.T) {
	srv := mototest.New(t)
	ctx := context.Background()
	target, _ := url.Parse(srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/detector/") {
			w.Header().Set("x-amzn-ErrorType", "AccessDeniedException")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"message":"User is not authorized to perform: guardduty:GetDetector","__type":"AccessDeniedException"}`))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	cfg, err := awsx.Load(ctx, awsx.Options{Region: "us-east-1", EndpointURL: front.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	det, err := guardduty.NewFromConfig(cfg).CreateDetector(ctx, &guardduty.CreateDetectorInput{Enable: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := collecttest.Run(t, "guardduty.detectors", cfg, mgmt, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	d := sink.ByARN("arn:aws:guardduty:us-east-1:" + mgmt + ":detector/" + aws.ToString(det.DetectorId))
	if d == nil || !strings.HasPrefix(d.Errors["Detector"], "access denied") {
		t.Fatalf("detector = %+v", d)
	}
	st := sink.ByARN("arn:aws:guardduty:us-east-1:" + mgmt + ":account-status")
	if st == nil || !strings.HasPrefix(st.Errors["Enabled"], "access denied") {
		t.Errorf("status = %+v", st)
	}
}
