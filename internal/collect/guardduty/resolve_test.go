package guardduty_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/native"
	"github.com/yagura-dev/yagura/internal/native/nativetest"
)

// GuardDuty names IAM principals by name; the inventory's ARNs carry the path. The collector
// asks IAM once per distinct name; a principal IAM no longer knows keeps the path-less ARN,
// marked unmatched.
func TestGuardDutyIAMPrincipalsGetTheirInventoryARN(t *testing.T) {
	tmpl := gdSample(t)
	var fs []map[string]any
	for i, p := range []map[string]any{
		{"userName": "alice", "userType": "IAMUser", "accessKeyId": "AKIAEXAMPLE", "principalId": "AIDAEXAMPLE"},
		{"userName": "deployer", "userType": "AssumedRole", "accessKeyId": "ASIAEXAMPLE", "principalId": "AROAEXAMPLE:ci"},
		{"userName": "alice", "userType": "IAMUser", "accessKeyId": "AKIAEXAMPLE2", "principalId": "AIDAEXAMPLE"},
		{"userName": "ghost", "userType": "IAMUser", "accessKeyId": "AKIAGHOST", "principalId": "AIDAGHOST"},
	} {
		f := gdFinding(tmpl, fmt.Sprintf("k%d", i))
		f["type"] = "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"
		f["resource"] = map[string]any{"resourceType": "AccessKey", "accessKeyDetails": p}
		fs = append(fs, f)
	}
	iamCalls := map[string]int{}
	got := runDetector(t, fs, func(w http.ResponseWriter, r nativetest.Request) bool {
		switch r.Form.Get("Action") {
		case "GetUser":
			name := r.Form.Get("UserName")
			iamCalls["user/"+name]++
			if name != "alice" {
				nativetest.XMLError(w, http.StatusNotFound, "NoSuchEntity", "The user with name "+name+" cannot be found.")
				return true
			}
			nativetest.IAMUser(w, gdAccount, "/staff/", "alice")
		case "GetRole":
			iamCalls["role/"+r.Form.Get("RoleName")]++
			nativetest.XML(w, `<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetRoleResult><Role><Path>/ci/</Path>
				<RoleName>deployer</RoleName><RoleId>AROAEXAMPLE</RoleId><Arn>arn:aws:iam::111122223333:role/ci/deployer</Arn>
				<CreateDate>2026-01-01T00:00:00Z</CreateDate><AssumeRolePolicyDocument>%7B%7D</AssumeRolePolicyDocument></Role></GetRoleResult>
				<ResponseMetadata><RequestId>2</RequestId></ResponseMetadata></GetRoleResponse>`)
		default:
			return false
		}
		return true
	})
	if len(got) != 4 {
		t.Fatalf("%d findings", len(got))
	}
	want := []string{"arn:aws:iam::111122223333:user/staff/alice", "arn:aws:iam::111122223333:role/ci/deployer",
		"arn:aws:iam::111122223333:user/staff/alice", "arn:aws:iam::111122223333:user/ghost"}
	for i, f := range got {
		if f.ResourceARN != want[i] {
			t.Errorf("finding %d: resource %s, want %s", i, f.ResourceARN, want[i])
		}
		if unmatched := native.Unmatched(f); (i == 3) != (unmatched != "") {
			t.Errorf("finding %d: unmatched %q", i, unmatched)
		}
	}
	if r := native.Unmatched(got[3]); !strings.Contains(r, "NoSuchEntity") {
		t.Errorf("reason %q does not say why IAM could not resolve it", r)
	}
	if iamCalls["user/alice"] != 1 || iamCalls["role/deployer"] != 1 || iamCalls["user/ghost"] != 1 {
		t.Errorf("IAM calls %v, want one per distinct name", iamCalls)
	}
}

// An archived finding that the service returns despite the criterion is not written.
func TestGuardDutyArchivedFindingsExcluded(t *testing.T) {
	tmpl := gdSample(t)
	var fs []map[string]any
	for _, id := range []string{"live", "archived"} {
		f := gdFinding(tmpl, id)
		svc := gdFinding(tmpl["service"].(map[string]any), "")
		svc["archived"] = id == "archived"
		f["service"] = svc
		fs = append(fs, f)
	}
	got := runDetector(t, fs, nil)
	if len(got) != 1 || !strings.HasSuffix(got[0].SourceID, "/live") {
		t.Fatalf("findings %+v, want only the unarchived one", got)
	}
}

// runDetector runs the collector against one detector det1 whose ListFindings lists fs' ids and
// whose GetFindings answers fs; other answers the requests it knows (IAM), reporting whether it did.
func runDetector(t *testing.T, fs []map[string]any, other func(http.ResponseWriter, nativetest.Request) bool) []*finding.Finding {
	t.Helper()
	ids := make([]string, len(fs))
	for i, f := range fs {
		ids[i], _ = f["id"].(string)
	}
	idList, _ := json.Marshal(ids)
	_, cfg := nativetest.Serve(t, "us-east-1", func(w http.ResponseWriter, r nativetest.Request) {
		switch {
		case other != nil && other(w, r):
		case r.Method == "GET" && r.Path == "/detector":
			nativetest.JSON(w, `{"detectorIds":["det1"]}`)
		case r.Method == "POST" && r.Path == "/detector/det1/findings":
			nativetest.JSON(w, `{"findingIds":`+string(idList)+`}`)
		case r.Method == "POST" && r.Path == "/detector/det1/findings/get":
			b, _ := json.Marshal(map[string]any{"findings": fs})
			nativetest.JSON(w, string(b))
		default:
			nativetest.Error(w, http.StatusNotFound, "NotFoundException", r.Method+" "+r.Path)
		}
	})
	sink, err := collecttest.Run(t, "guardduty.findings", cfg, gdAccount, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return sink.Findings
}

// gdFinding copies the sample finding tmpl as finding id of detector det1 (id "": a plain copy).
func gdFinding(tmpl map[string]any, id string) map[string]any {
	f := make(map[string]any, len(tmpl))
	for k, v := range tmpl {
		f[k] = v
	}
	if id != "" {
		f["id"], f["arn"] = id, "arn:aws:guardduty:us-east-1:"+gdAccount+":detector/det1/finding/"+id
	}
	return f
}
