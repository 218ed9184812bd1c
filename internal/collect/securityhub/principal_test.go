package securityhub_test

import (
	"net/http"
	"testing"

	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	"github.com/yagura-dev/yagura/internal/native"
	"github.com/yagura-dev/yagura/internal/native/nativetest"
)

// GuardDuty's copy of a credential finding names the access key and its principal without the
// IAM path; the account's own principals get their inventory ARN from IAM.
func TestSecurityHubCredentialFindingNamesThePrincipal(t *testing.T) {
	const account = "111122223333"
	asff := func(id, ptype, name string) string {
		return `{"SchemaVersion":"2018-10-08","Id":"arn:aws:guardduty:us-east-1:111122223333:detector/d1/finding/` + id + `",
		"ProductArn":"arn:aws:securityhub:us-east-1::product/aws/guardduty","GeneratorId":"arn:aws:guardduty:us-east-1:111122223333:detector/d1",
		"AwsAccountId":"111122223333","Region":"us-east-1","Types":["TTPs/Initial Access/UnauthorizedAccess:IAMUser-ConsoleLoginSuccess.B"],
		"Severity":{"Label":"MEDIUM"},"Title":"t","Description":"d","RecordState":"ACTIVE","Workflow":{"Status":"NEW"},
		"Resources":[{"Type":"AwsIamAccessKey","Id":"AWS::IAM::AccessKey:ASIA` + id + `","Partition":"aws","Region":"us-east-1",
		  "Details":{"AwsIamAccessKey":{"PrincipalId":"AIDA` + id + `","PrincipalType":"` + ptype + `","PrincipalName":"` + name + `","AccountId":"111122223333"}}}]}`
	}
	_, cfg := nativetest.Serve(t, "us-east-1", func(w http.ResponseWriter, r nativetest.Request) {
		switch {
		case r.Form.Get("Action") == "GetUser" && r.Form.Get("UserName") == "carol":
			nativetest.IAMUser(w, account, "/dev/", "carol")
		case r.Path == "/findingAggregator/list":
			nativetest.JSON(w, `{"FindingAggregators":[]}`)
		case r.Path == "/administrator":
			nativetest.JSON(w, `{}`)
		case r.Path == "/findings" && r.Method == "POST":
			nativetest.JSON(w, `{"Findings":[`+asff("a1", "IAMUser", "carol")+`,`+asff("a2", "Root", "root")+`,`+asff("a3", "Weird", "x")+`]}`)
		default:
			nativetest.Error(w, http.StatusNotFound, "ResourceNotFoundException", r.Method+" "+r.Path)
		}
	})
	sink, err := collecttest.Run(t, "securityhub.findings", cfg, account, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.Findings) != 3 {
		t.Fatalf("%d findings", len(sink.Findings))
	}
	for i, want := range []struct {
		arn, rtype string
		unmatched  bool
	}{
		{"arn:aws:iam::111122223333:user/dev/carol", "AWS::IAM::User", false},
		{"arn:aws:iam::111122223333:root", "AWS::::Account", false},
		{"AWS::IAM::AccessKey:ASIAa3", "AWS::IAM::AccessKey", true},
	} {
		f := sink.Findings[i]
		if f.ResourceARN != want.arn || f.ResourceType != want.rtype || (native.Unmatched(f) != "") != want.unmatched || f.Source != "guardduty" {
			t.Errorf("finding %d: %s %s %s unmatched %q", i, f.Source, f.ResourceARN, f.ResourceType, native.Unmatched(f))
		}
	}
}
