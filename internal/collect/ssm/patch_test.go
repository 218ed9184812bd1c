package ssm_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	_ "github.com/yagura-dev/yagura/internal/collect/ssm"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/native/nativetest"
)

const ssmAccount = "111122223333"

// patchState is one InstancePatchStates entry in SSM's JSON 1.1 wire shape (epoch-second times).
func patchState(id string, missing, failed, critical, security int) string {
	return fmt.Sprintf(`{"BaselineId":"pb-0c10e65780EXAMPLE","InstanceId":%q,"PatchGroup":"web","MissingCount":%d,"FailedCount":%d,
	"CriticalNonCompliantCount":%d,"SecurityNonCompliantCount":%d,"InstalledCount":40,"NotApplicableCount":700,
	"Operation":"Scan","OperationStartTime":1.7646e9,"OperationEndTime":1.76460012e9}`, id, missing, failed, critical, security)
}

func TestPatchCompliancePaginated(t *testing.T) {
	var stateCalls []int
	_, cfg := nativetest.Serve(t, "eu-west-1", func(w http.ResponseWriter, r nativetest.Request) {
		switch r.Target {
		case "DescribeInstanceInformation":
			if r.Body["NextToken"] == "i2" {
				nativetest.JSON(w, `{"InstanceInformationList":[{"InstanceId":"mi-0123456789abcdef0","PingStatus":"Online","ResourceType":"ManagedInstance"}]}`)
				return
			}
			nativetest.JSON(w, `{"InstanceInformationList":[{"InstanceId":"i-0aaaaaaaaaaaaaaa1","PingStatus":"Online","ResourceType":"EC2Instance"},
				{"InstanceId":"i-0aaaaaaaaaaaaaaa2","PingStatus":"Online","ResourceType":"EC2Instance"}],"NextToken":"i2"}`)
		case "DescribeInstancePatchStates":
			ids, _ := r.Body["InstanceIds"].([]any)
			stateCalls = append(stateCalls, len(ids))
			switch {
			case len(ids) == 2 && r.Body["NextToken"] == nil:
				nativetest.JSON(w, `{"InstancePatchStates":[`+patchState("i-0aaaaaaaaaaaaaaa1", 5, 0, 2, 4)+`],"NextToken":"s2"}`)
			case len(ids) == 2:
				nativetest.JSON(w, `{"InstancePatchStates":[`+patchState("i-0aaaaaaaaaaaaaaa2", 0, 0, 0, 0)+`]}`)
			default:
				nativetest.JSON(w, `{"InstancePatchStates":[`+patchState("mi-0123456789abcdef0", 1, 1, 0, 0)+`]}`)
			}
		default:
			nativetest.Error(w, 400, "InvalidAction", r.Target)
		}
	})
	sink, err := collecttest.Run(t, "ssm.patch-compliance", cfg, ssmAccount, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.Findings) != 3 {
		t.Fatalf("%d findings, want 3", len(sink.Findings))
	}
	if fmt.Sprint(stateCalls) != "[2 2 1]" {
		t.Errorf("patch state calls with %v instance ids, want one query per instance page, paginated", stateCalls)
	}
	byARN := map[string]*finding.Finding{}
	for _, f := range sink.Findings {
		byARN[f.ResourceARN] = f
	}
	crit := byARN["arn:aws:ec2:eu-west-1:111122223333:instance/i-0aaaaaaaaaaaaaaa1"]
	if crit == nil || crit.Status != finding.Fail || crit.Severity != finding.Critical || crit.Source != "ssm" || crit.Region != "eu-west-1" {
		t.Errorf("critical instance: %+v", crit)
	}
	if ok := byARN["arn:aws:ec2:eu-west-1:111122223333:instance/i-0aaaaaaaaaaaaaaa2"]; ok == nil || ok.Status != finding.Pass {
		t.Errorf("compliant instance: %+v", ok)
	}
	if hy := byARN["arn:aws:ssm:eu-west-1:111122223333:managed-instance/mi-0123456789abcdef0"]; hy == nil || hy.Severity != finding.High {
		t.Errorf("hybrid instance with a failed install: %+v", hy)
	}
}

func TestPatchComplianceDenied(t *testing.T) {
	_, cfg := nativetest.Serve(t, "eu-west-1", func(w http.ResponseWriter, r nativetest.Request) {
		nativetest.Error(w, 400, "AccessDeniedException", "User: arn:aws:sts::111122223333:assumed-role/yagura-audit/x is not authorized to perform: ssm:DescribeInstanceInformation")
	})
	_, err := collecttest.Run(t, "ssm.patch-compliance", cfg, ssmAccount, "eu-west-1")
	if outcome, _ := awsx.Classify(err); outcome != awsx.OutcomeDenied {
		t.Fatalf("outcome %s (%v), want denied", outcome, err)
	}
}
