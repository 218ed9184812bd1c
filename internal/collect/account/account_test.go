package account_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsaccount "github.com/aws/aws-sdk-go-v2/service/account"
	"github.com/aws/aws-sdk-go-v2/service/account/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	accountc "github.com/yagura-dev/yagura/internal/collect/account"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	"github.com/yagura-dev/yagura/internal/mototest"
)

func TestAlternateContacts(t *testing.T) {
	srv := mototest.New(t)
	ctx := context.Background()
	cfg := srv.Config(t, "us-east-1")
	memberID, memberCfg := collecttest.MemberAccount(t, cfg)
	_, err := awsaccount.NewFromConfig(cfg).PutAlternateContact(ctx, &awsaccount.PutAlternateContactInput{AlternateContactType: types.AlternateContactTypeSecurity,
		EmailAddress: aws.String("security@example.com"), Name: aws.String("Security team"), PhoneNumber: aws.String("+1-555-0100"), Title: aws.String("CISO")})
	collecttest.Must(t, err, "PutAlternateContact")

	s, err := collecttest.Run(t, "account.alternate-contacts", cfg, collecttest.Mgmt, "us-east-1")
	collecttest.Must(t, err, "account.alternate-contacts")
	r := s.ByARN(accountc.ARN("aws", collecttest.Mgmt))
	if r == nil || r.Type != accountc.TypeAlternateContacts || r.Region != "global" || len(r.Errors) != 0 {
		t.Fatalf("management account: %+v", s.Resources)
	}
	m := collecttest.Decode(t, r)
	sec, _ := m["SECURITY"].(map[string]any)
	if sec["EmailAddress"] != "security@example.com" || m["BILLING"] != nil {
		t.Errorf("management contacts %s", r.Config)
	}
	if _, ok := m["OPERATIONS"]; !ok {
		t.Errorf("unset contact type must be present as null: %s", r.Config)
	}

	// A member account (assumed role) without a security contact: null, not an error.
	s, err = collecttest.Run(t, "account.alternate-contacts", memberCfg, memberID, "us-east-1")
	collecttest.Must(t, err, "member")
	r = s.ByARN(accountc.ARN("aws", memberID))
	if r == nil || len(r.Errors) != 0 {
		t.Fatalf("member: %+v", s.Resources)
	}
	if m := collecttest.Decode(t, r); m["SECURITY"] != nil {
		t.Errorf("member contacts %s", r.Config)
	}
}

// The Account API answers in REST-JSON; a refusal is an HTTP 403 with the error type in
// X-Amzn-ErrorType. A refused security contact fails the task; another refused type is
// recorded in Errors.
func TestAlternateContactsDenied(t *testing.T) {
	for _, tc := range []struct {
		name   string
		denied string
	}{{"security denied", "SECURITY"}, {"billing denied", "BILLING"}} {
		t.Run(tc.name, func(t *testing.T) {
			h := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var in struct{ AlternateContactType string }
				_ = json.NewDecoder(r.Body).Decode(&in)
				w.Header().Set("Content-Type", "application/json")
				switch {
				case r.URL.Path != "/getAlternateContact":
					w.WriteHeader(http.StatusNotFound)
				case in.AlternateContactType == tc.denied:
					w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
					w.WriteHeader(http.StatusForbidden)
					_, _ = w.Write([]byte(`{"message":"User is not authorized to perform: account:GetAlternateContact"}`))
				default:
					w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
					w.WriteHeader(http.StatusNotFound)
					_, _ = w.Write([]byte(`{"message":"No contact of the inputted alternate contact type found."}`))
				}
			}))
			defer h.Close()
			t.Setenv("AWS_ACCESS_KEY_ID", "testing")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
			cfg, err := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: h.URL})
			collecttest.Must(t, err, "Load")
			s, err := collecttest.Run(t, "account.alternate-contacts", cfg, collecttest.Mgmt, "us-east-1")
			if tc.denied == "SECURITY" {
				if err == nil || !awsx.IsDenied(err) || len(s.Resources) != 0 {
					t.Fatalf("want a denied task and no resource; err %v resources %d", err, len(s.Resources))
				}
				return
			}
			collecttest.Must(t, err, "run")
			r := s.ByARN(accountc.ARN("aws", collecttest.Mgmt))
			if r == nil || r.Errors["BILLING"] == "" || r.Errors["SECURITY"] != "" {
				t.Fatalf("errors: %+v", r)
			}
		})
	}
}
