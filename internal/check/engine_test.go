package check

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/procstat"
	"github.com/yagura-dev/yagura/internal/store"
)

type collectSink struct {
	mu sync.Mutex
	fs []*finding.Finding
}

func (s *collectSink) Put(f *finding.Finding) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fs = append(s.fs, f)
	return nil
}

func (s *collectSink) find(check, arn string) *finding.Finding {
	for _, f := range s.fs {
		if f.CheckID == check && f.ResourceARN == arn {
			return f
		}
	}
	return nil
}

func TestEvaluateEndToEnd(t *testing.T) {
	cov := withCoverage(okCoverage(), TypeVolume, store.CoverageDenied, "AccessDenied: ec2:DescribeVolumes")
	sgOpen := res(TypeSecurityGroup, "arn:aws:ec2:us-east-1:111122223333:security-group/sg-open",
		`{"GroupId":"sg-open","GroupName":"open","IpPermissions":[{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}`, nil)
	sgShut := res(TypeSecurityGroup, "arn:aws:ec2:us-east-1:111122223333:security-group/sg-shut", `{"GroupId":"sg-shut","GroupName":"shut","IpPermissions":[]}`, nil)
	src := &MemorySource{Cov: cov, Resources: []*inventory.Resource{sgOpen, sgShut,
		res(TypeEBSDefault, "arn:aws:ec2:us-east-1:111122223333:ebs-encryption-by-default", `{"EbsEncryptionByDefault":true}`, nil)}}
	sink := &collectSink{}
	st, err := Evaluate(context.Background(), src, sink, Options{Now: testNow, Collectors: fakeCollectors()})
	if err != nil {
		t.Fatal(err)
	}
	if st.Resources != 2+0 && st.Resources != 3 {
		t.Logf("resources evaluated: %d", st.Resources)
	}
	f := sink.find("ec2.sg_ingress_ssh_world", sgOpen.ARN)
	if f == nil || f.Status != finding.Fail {
		t.Fatalf("open SG: %+v", f)
	}
	if f.ID != finding.StableID("yagura", "ec2.sg_ingress_ssh_world", sgOpen.ARN) || f.Source != "yagura" || f.Severity != finding.High {
		t.Fatalf("finding fields: %+v", f)
	}
	if want := colName(TypeSecurityGroup) + "|" + acct + "|" + region; f.Collector != want {
		t.Fatalf("collector %q, want %q", f.Collector, want)
	}
	var ev map[string]any
	if err := json.Unmarshal(f.Evidence, &ev); err != nil || ev["rules"] == nil {
		t.Fatalf("evidence %s", f.Evidence)
	}
	if g := sink.find("ec2.sg_ingress_ssh_world", sgShut.ARN); g == nil || g.Status != finding.Pass {
		t.Fatalf("closed SG: %+v", g)
	}
	// Region-level check names the synthetic resource it read.
	if g := sink.find("ec2.ebs_default_encryption", "arn:aws:ec2:us-east-1:111122223333:ebs-encryption-by-default"); g == nil || g.Status != finding.Pass {
		t.Fatalf("ebs default: %+v", g)
	}
	// A denied listing yields ERROR for the checks of that type in that account-region.
	unit := UnitARN("", acct, region)
	g := sink.find("ec2.volume_encrypted", unit)
	if g == nil || g.Status != finding.Error || g.Collector != colName(TypeVolume)+"|"+acct+"|"+region {
		t.Fatalf("volume gap: %+v", g)
	}
	// A type nobody collects is an ERROR too, never silence.
	if g := sink.find("efs.encrypted", UnitARN("", acct, "global")); g != nil && g.Status != finding.Error {
		t.Fatalf("efs: %+v", g)
	}
	// A region-level result keeps its subject ARN when its input is missing, so its id is the
	// same as when it passed or failed.
	if g := sink.find("guardduty.enabled", "arn:aws:guardduty:us-east-1:111122223333:account-status"); g == nil || g.Status != finding.Error {
		t.Fatalf("guardduty without input: %+v", g)
	}
	if st.Fail == 0 || st.Pass == 0 || st.Error == 0 {
		t.Fatalf("stats %+v", st)
	}
}

// syntheticGen produces n resources spread over the evaluated types, each with a config that
// exercises its checks (some failing, some passing).
func syntheticGen(n int) (func(typ string, fn func(*inventory.Resource) error) error, map[string]int) {
	templates := map[string]string{
		TypeSecurityGroup:  `{"GroupId":"sg-%[1]d","GroupName":"g%[1]d","IpPermissions":[{"IpProtocol":"tcp","FromPort":%[2]d,"ToPort":%[2]d,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]},{"IpProtocol":"tcp","FromPort":443,"ToPort":443,"IpRanges":[{"CidrIp":"10.0.0.0/8"}]}],"IpPermissionsEgress":[{"IpProtocol":"-1","IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}`,
		TypeInstance:       `{"InstanceId":"i-%[1]d","State":{"Name":"running"},"MetadataOptions":{"HttpTokens":"optional","HttpEndpoint":"enabled"},"PublicIpAddress":"198.51.100.%[2]d","NetworkInterfaces":[{"NetworkInterfaceId":"eni-1"}]}`,
		TypeBucket:         `{"Name":"b%[1]d","Policy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b%[1]d/*","Condition":{"IpAddress":{"aws:SourceIp":"10.%[2]d.0.0/16"}}}]},"Acl":{"Grants":[]},"PublicAccessBlock":null,"Versioning":{"Status":"Enabled"},"Logging":null}`,
		TypeUser:           `{"UserName":"u%[1]d","Arn":"arn:aws:iam::111122223333:user/u%[1]d","LoginProfile":{"CreateDate":"2025-01-01T00:00:00Z"},"MFADevices":[],"AccessKeys":[{"AccessKeyId":"AKIA%[1]d","Status":"Active","CreateDate":"2025-0%[3]d-01T00:00:00Z"}]}`,
		TypeVolume:         `{"VolumeId":"vol-%[1]d","Encrypted":%[4]t,"Attachments":[{"InstanceId":"i-1"}]}`,
		TypeDBInstance:     `{"DBInstanceIdentifier":"db%[1]d","Engine":"postgres","PubliclyAccessible":%[4]t,"StorageEncrypted":true,"Endpoint":{"Port":5432},"BackupRetentionPeriod":7,"MasterUsername":"postgres"}`,
		TypeLambdaFunction: `{"FunctionName":"f%[1]d","Runtime":"python3.%[2]d","Policy":null,"FunctionUrlConfigs":[]}`,
		TypeKMSKey:         `{"KeyManager":"CUSTOMER","KeyState":"Enabled","KeySpec":"SYMMETRIC_DEFAULT","Origin":"AWS_KMS","KeyRotationEnabled":%[4]t,"Policy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}}`,
	}
	types := make([]string, 0, len(templates))
	for t := range templates {
		types = append(types, t)
	}
	per := map[string]int{}
	for i := 0; i < n; i++ {
		per[types[i%len(types)]]++
	}
	return func(typ string, fn func(*inventory.Resource) error) error {
		tpl, ok := templates[typ]
		if !ok {
			return nil
		}
		for i := 0; i < per[typ]; i++ {
			cfg := fmt.Sprintf(tpl, i, i%250, 1+i%9, i%2 == 0)
			r := &inventory.Resource{ARN: fmt.Sprintf("arn:aws:x:us-east-1:111122223333:%s/%d", typ, i), Type: typ,
				AccountID: acct, Region: region, Name: fmt.Sprint(i), Config: json.RawMessage(cfg), CollectedAt: testNow}
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}, per
}

type countSink struct{ n int64 }

func (c *countSink) Put(*finding.Finding) error { c.n++; return nil }

// BenchmarkEvaluate1M evaluates the whole catalog over a synthetic inventory of one million
// resources and reports evaluations per second.
func BenchmarkEvaluate1M(b *testing.B) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	gen, _ := syntheticGen(n)
	cov := okCoverage()
	for i := 0; i < b.N; i++ {
		cpu0 := procstat.CPU()
		start := time.Now()
		src := &MemorySource{Cov: cov, Resources: []*inventory.Resource{credRes(rootRow())}, Gen: gen}
		sink := &countSink{}
		st, err := Evaluate(context.Background(), src, sink, Options{Now: testNow, Collectors: fakeCollectors()})
		if err != nil {
			b.Fatal(err)
		}
		el := time.Since(start)
		cpu := procstat.CPU() - cpu0
		b.ReportMetric(float64(st.Evaluations)/el.Seconds(), "evals/s")
		b.ReportMetric(float64(st.Resources), "resources")
		// The machine is shared: CPU time says what the evaluation itself cost.
		b.Logf("%d resources, %d evaluations (%d pass, %d fail, %d error) in %s wall, %s CPU: %.0f evaluations/s",
			st.Resources, st.Evaluations, st.Pass, st.Fail, st.Error, el.Round(time.Millisecond), cpu.Round(time.Millisecond), float64(st.Evaluations)/el.Seconds())
	}
}
