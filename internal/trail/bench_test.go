package trail

import (
	"fmt"
	"strings"
	"testing"
)

// benchFile is a log file of 1000 realistic records (about 1 KB each).
func benchFile() []byte {
	var b strings.Builder
	b.WriteString(`{"Records":[`)
	names := []struct{ name, src, params string }{
		{"AssumeRole", "sts.amazonaws.com", `{"roleArn":"arn:aws:iam::111111111111:role/deploy","roleSessionName":"s%d","durationSeconds":3600}`},
		{"GetObject", "s3.amazonaws.com", `{"bucketName":"data","Host":"data.s3.amazonaws.com","key":"logs/2026/%d.parquet"}`},
		{"DescribeInstances", "ec2.amazonaws.com", `{"instancesSet":{"items":[{"instanceId":"i-%d"}]},"filterSet":{}}`},
		{"AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", `{"groupId":"sg-%d","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":443,"toPort":443,"ipRanges":{"items":[{"cidrIp":"10.0.0.0/8"}]}}]}}`},
		{"ConsoleLogin", "signin.amazonaws.com", `null`},
	}
	for i := 0; i < 1000; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		n := names[i%len(names)]
		params := n.params
		if strings.Contains(params, "%d") {
			params = fmt.Sprintf(params, i)
		}
		fmt.Fprintf(&b, `{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE%d:session","arn":"arn:aws:sts::111111111111:assumed-role/deploy/s%d","accountId":"111111111111","accessKeyId":"ASIA%d","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111111111111:role/deploy","accountId":"111111111111","userName":"deploy"},"attributes":{"creationDate":"2026-03-01T10:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2026-03-01T10:%02d:%02dZ","eventSource":%q,"eventName":%q,"awsRegion":"us-east-1","sourceIPAddress":"198.51.%d.%d","userAgent":"aws-sdk-go-v2/1.30.0 os/linux lang/go#1.22 md/GOOS#linux","requestParameters":%s,"responseElements":null,"requestID":"req-%d","eventID":"evt-%d","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111111111111","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"sts.us-east-1.amazonaws.com"}}`,
			i, i, i, (i/60)%60, i%60, n.src, n.name, i%256, i%251, params, i, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func BenchmarkDecode(b *testing.B) {
	data := benchFile()
	d := newDecoder()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := d.decodeFile(data, "k", func(*Event) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHuntBuiltin(b *testing.B) {
	data := benchFile()
	rules, _, err := BuiltinRules(Placeholders{"org_accounts": {"111111111111"}})
	if err != nil {
		b.Fatal(err)
	}
	h := NewHunter(rules)
	d := newDecoder()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		d.decodeFile(data, "k", func(e *Event) error { h.Observe(e); return nil })
	}
}

// BenchmarkMatchOnly measures the rules alone on already decoded events.
func BenchmarkMatchOnly(b *testing.B) {
	data := benchFile()
	rules, _, _ := BuiltinRules(Placeholders{"org_accounts": {"111111111111"}})
	h := NewHunter(rules)
	var evs []*Event
	newDecoder().decodeFile(data, "k", func(e *Event) error { evs = append(evs, e.Clone()); return nil })
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		for _, e := range evs {
			h.candidates(e.EventName, func(r *Rule) { r.match(e) })
		}
	}
}

func BenchmarkSearchFilter(b *testing.B) {
	data := benchFile()
	f := &Filter{EventNames: []string{"ConsoleLogin"}, SourceIPs: []string{"198.51.0.0/16"}}
	f.Compile()
	d := newDecoder()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		d.decodeFile(data, "k", func(e *Event) error { f.Match(e); return nil })
	}
}
