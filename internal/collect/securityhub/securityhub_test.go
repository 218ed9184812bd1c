package securityhub_test

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
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	_ "github.com/yagura-dev/yagura/internal/collect/securityhub"
	"github.com/yagura-dev/yagura/internal/mototest"
)

const mgmt = "123456789012"

// signedRegion reads the region from the request's SigV4 credential scope.
func signedRegion(r *http.Request) string {
	scope := r.Header.Get("Authorization")
	if i := strings.Index(scope, "Credential="); i >= 0 {
		parts := strings.Split(scope[i:], "/")
		if len(parts) > 2 {
			return parts[2]
		}
	}
	return ""
}

const (
	fsbp        = "arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0"
	cis         = "arn:aws:securityhub:us-east-1::standards/cis-aws-foundations-benchmark/v/3.0.0"
	aggregator  = "arn:aws:securityhub:us-east-1:" + mgmt + ":finding-aggregator/123e4567-e89b-12d3-a456-426652340000"
	notEnabled  = `{"Code":"InvalidAccessException","Message":"Account 123456789012 is not subscribed to AWS Security Hub"}`
	subscribedR = "us-east-1"
)

// hubFront stands in front of moto, which lacks GetEnabledStandards and the finding aggregator
// API: it answers those in Security Hub's REST-JSON wire format for us-east-1 (the region where
// the test enables Security Hub) and "not subscribed" elsewhere, and sends the rest to moto.
func hubFront(t *testing.T, motoURL string) string { return hubFrontDenying(t, motoURL, "") }

// hubFrontDenying is hubFront refusing requests to one path with AccessDeniedException.
func hubFrontDenying(t *testing.T, motoURL, denyPath string) string {
	target, _ := url.Parse(motoURL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == denyPath {
			w.Header().Set("x-amzn-ErrorType", "AccessDeniedException")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"Code":"AccessDeniedException","Message":"not authorized"}`))
			return
		}
		stub := r.URL.Path == "/standards/get" || strings.HasPrefix(r.URL.Path, "/findingAggregator/")
		if !stub {
			proxy.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		// us-west-2 is linked to the aggregator: it lists the aggregator of us-east-1.
		linked := signedRegion(r) == "us-west-2" && strings.HasPrefix(r.URL.Path, "/findingAggregator/")
		if !linked && signedRegion(r) != subscribedR {
			w.Header().Set("x-amzn-ErrorType", "InvalidAccessException")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(notEnabled))
			return
		}
		switch {
		case r.URL.Path == "/standards/get":
			var in struct{ NextToken string }
			json.NewDecoder(r.Body).Decode(&in)
			// Two pages, so the paginator has to follow NextToken.
			if in.NextToken == "" {
				w.Write([]byte(`{"StandardsSubscriptions":[{"StandardsSubscriptionArn":"arn:aws:securityhub:us-east-1:` + mgmt + `:subscription/aws-foundational-security-best-practices/v/1.0.0","StandardsArn":"` + fsbp + `","StandardsInput":{},"StandardsStatus":"READY","StandardsControlsUpdatable":"READY_FOR_UPDATES"}],"NextToken":"page2"}`))
				return
			}
			w.Write([]byte(`{"StandardsSubscriptions":[{"StandardsSubscriptionArn":"arn:aws:securityhub:us-east-1:` + mgmt + `:subscription/cis-aws-foundations-benchmark/v/3.0.0","StandardsArn":"` + cis + `","StandardsInput":{},"StandardsStatus":"INCOMPLETE","StandardsStatusReason":{"StatusReasonCode":"NO_AVAILABLE_CONFIGURATION_RECORDER"}}]}`))
		case r.URL.Path == "/findingAggregator/list":
			w.Write([]byte(`{"FindingAggregators":[{"FindingAggregatorArn":"` + aggregator + `"}]}`))
		case strings.HasPrefix(r.URL.Path, "/findingAggregator/get/"):
			w.Write([]byte(`{"FindingAggregatorArn":"` + aggregator + `","FindingAggregationRegion":"us-east-1","RegionLinkingMode":"ALL_REGIONS","Regions":[]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestSecurityHub(t *testing.T) {
	srv := mototest.New(t)
	ctx := context.Background()
	cfg, err := awsx.Load(ctx, awsx.Options{Region: "us-east-1", EndpointURL: hubFront(t, srv.URL)})
	if err != nil {
		t.Fatal(err)
	}
	org := organizations.NewFromConfig(cfg)
	if _, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}); err != nil {
		t.Fatal(err)
	}
	acct, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("sec"), Email: aws.String("sec@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	member := aws.ToString(acct.CreateAccountStatus.AccountId)
	memberCfg := awsx.AssumeConfig(cfg, mgmt, member, awsx.RoleOptions{RoleName: "OrganizationAccountAccessRole"})

	// Enabled in the management account's us-east-1 only.
	if _, err := securityhub.NewFromConfig(cfg).EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{EnableDefaultStandards: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}

	t.Run("enabled with standards", func(t *testing.T) {
		sink, err := collecttest.Run(t, "securityhub.hub", cfg, mgmt, "us-east-1")
		if err != nil {
			t.Fatal(err)
		}
		r := sink.ByARN("arn:aws:securityhub:us-east-1:" + mgmt + ":hub/default")
		if r == nil || r.Type != "AWS::SecurityHub::Hub" || r.AccountID != mgmt || r.Region != "us-east-1" || len(r.Errors) != 0 {
			t.Fatalf("hub = %+v (all %+v)", r, sink.Resources)
		}
		var c struct {
			Enabled              bool
			HubArn               string
			Standards            []struct{ StandardsArn, StandardsStatus string }
			AdministratorAccount *struct{ AccountId string }
		}
		if err := json.Unmarshal(r.Config, &c); err != nil {
			t.Fatal(err)
		}
		if !c.Enabled || c.HubArn != r.ARN || c.AdministratorAccount != nil {
			t.Errorf("hub config = %s", r.Config)
		}
		if len(c.Standards) != 2 || c.Standards[0].StandardsArn != fsbp || c.Standards[1].StandardsArn != cis || c.Standards[1].StandardsStatus != "INCOMPLETE" {
			t.Errorf("standards = %+v", c.Standards)
		}
	})

	t.Run("not enabled is a state, not an error", func(t *testing.T) {
		for _, tc := range []struct {
			cfg             aws.Config
			account, region string
		}{{cfg, mgmt, "eu-west-1"}, {memberCfg, member, "us-east-1"}} {
			sink, err := collecttest.Run(t, "securityhub.hub", tc.cfg, tc.account, tc.region)
			if err != nil {
				t.Fatalf("%s %s: %v", tc.account, tc.region, err)
			}
			r := sink.ByARN("arn:aws:securityhub:" + tc.region + ":" + tc.account + ":hub/default")
			if r == nil || len(sink.Resources) != 1 || r.AccountID != tc.account || r.Region != tc.region {
				t.Fatalf("%s %s: resources %+v", tc.account, tc.region, sink.Resources)
			}
			if string(r.Config) != `{"Enabled":false}` || len(r.Errors) != 0 {
				t.Errorf("%s %s: config %s errors %v", tc.account, tc.region, r.Config, r.Errors)
			}
		}
	})

	t.Run("finding aggregator", func(t *testing.T) {
		sink, err := collecttest.Run(t, "securityhub.finding-aggregators", cfg, mgmt, "us-east-1")
		if err != nil {
			t.Fatal(err)
		}
		r := sink.ByARN(aggregator)
		if r == nil || r.Type != "AWS::SecurityHub::FindingAggregator" || r.Region != "us-east-1" || r.Name != "123e4567-e89b-12d3-a456-426652340000" {
			t.Fatalf("aggregators = %+v", sink.Resources)
		}
		var c map[string]any
		json.Unmarshal(r.Config, &c)
		if c["RegionLinkingMode"] != "ALL_REGIONS" || c["FindingAggregationRegion"] != "us-east-1" {
			t.Errorf("aggregator config = %v", c)
		}
		linked, err := collecttest.Run(t, "securityhub.finding-aggregators", cfg, mgmt, "us-west-2")
		if err != nil || len(linked.Resources) != 0 {
			t.Errorf("linked region records the aggregator again: err %v, %+v", err, linked.Resources)
		}
		off, err := collecttest.Run(t, "securityhub.finding-aggregators", cfg, mgmt, "eu-west-1")
		if err != nil || len(off.Resources) != 0 {
			t.Errorf("not subscribed region: err %v, %d resources", err, len(off.Resources))
		}
	})
}

func TestSecurityHubAccessDenied(t *testing.T) {
	mototest.SetTestEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amzn-ErrorType", "AccessDeniedException")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"Code":"AccessDeniedException","Message":"User is not authorized to perform: securityhub:DescribeHub"}`))
	}))
	defer srv.Close()
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: srv.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"securityhub.hub", "securityhub.finding-aggregators"} {
		sink, err := collecttest.Run(t, name, cfg, mgmt, "us-east-1")
		// Denied is not "not enabled": nothing is claimed about the hub.
		if outcome, _ := awsx.Classify(err); outcome != awsx.OutcomeDenied || len(sink.Resources) != 0 {
			t.Errorf("%s: outcome %q (err %v), %d resources", name, outcome, err, len(sink.Resources))
		}
	}
}

// A refused GetEnabledStandards leaves the hub recorded as enabled, with Standards unknown.
func TestSecurityHubStandardsDenied(t *testing.T) {
	srv := mototest.New(t)
	ctx := context.Background()
	cfg, err := awsx.Load(ctx, awsx.Options{Region: "us-east-1", EndpointURL: hubFrontDenying(t, srv.URL, "/standards/get"), MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := securityhub.NewFromConfig(cfg).EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{}); err != nil {
		t.Fatal(err)
	}
	sink, err := collecttest.Run(t, "securityhub.hub", cfg, mgmt, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.Resources) != 1 {
		t.Fatalf("resources = %+v", sink.Resources)
	}
	r := sink.Resources[0]
	var c map[string]any
	json.Unmarshal(r.Config, &c)
	if c["Enabled"] != true || c["Standards"] != nil || !strings.HasPrefix(r.Errors["Standards"], "access denied") {
		t.Errorf("hub = %s errors %v", r.Config, r.Errors)
	}
	if _, ok := r.Errors["AdministratorAccount"]; ok {
		t.Errorf("administrator read failed: %v", r.Errors)
	}
}
