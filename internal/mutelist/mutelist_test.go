package mutelist

import (
	"strings"
	"testing"
	"time"

	"github.com/yagura-dev/yagura/internal/finding"
)

const doc = `
mutes:
  - reason: public website bucket, reviewed by security
    checks: ["s3.bucket_public_*"]
    resources: ["arn:aws:s3:::www-*"]
  - reason: sandbox accounts accept SSH from anywhere
    accounts: ["2222*"]
    controls: ["fsbp:EC2.13"]
    expires: 2026-12-31
  - reason: legacy dev systems
    tags: {env: dev}
    regions: ["eu-*"]
  - reason: old exception
    resources: ["re:^arn:aws:ec2:.*:security-group/sg-legacy[0-9]+$"]
    expires: 2025-01-31
`

func TestApply(t *testing.T) {
	l, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		f      finding.Finding
		tags   map[string]string
		muted  bool
		reason string
	}{
		{"glob check and resource", finding.Finding{CheckID: "s3.bucket_public_read", ResourceARN: "arn:aws:s3:::www-site", Status: finding.Fail}, nil, true, "public website"},
		{"other bucket", finding.Finding{CheckID: "s3.bucket_public_read", ResourceARN: "arn:aws:s3:::data"}, nil, false, ""},
		{"control and account with future expiry", finding.Finding{AccountID: "222233334444", Controls: []string{"fsbp:EC2.13"}, ResourceARN: "x"}, nil, true, "until 2026-12-31"},
		{"control mismatch", finding.Finding{AccountID: "222233334444", Controls: []string{"fsbp:EC2.14"}}, nil, false, ""},
		{"tags and region", finding.Finding{Region: "eu-west-1", ResourceARN: "x"}, map[string]string{"env": "dev"}, true, "legacy dev"},
		{"tags missing", finding.Finding{Region: "eu-west-1", ResourceARN: "x"}, map[string]string{"env": "prod"}, false, ""},
		{"expired regex entry says so", finding.Finding{ResourceARN: "arn:aws:ec2:us-east-1:1:security-group/sg-legacy7"}, nil, false, "mute expired on 2025-01-31"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := c.f
			l.Apply(&f, c.tags, now)
			if f.Muted != c.muted || !strings.Contains(f.MuteReason, c.reason) {
				t.Fatalf("muted %v reason %q; want %v containing %q", f.Muted, f.MuteReason, c.muted, c.reason)
			}
			if f.Status != c.f.Status {
				t.Fatal("muting changed the status")
			}
		})
	}
	if exp := l.Expired(now); len(exp) != 1 || exp[0].Reason != "old exception" {
		t.Fatalf("expired: %+v", exp)
	}
	// The same entry stops muting after its expiry date.
	f := finding.Finding{AccountID: "222233334444", Controls: []string{"fsbp:EC2.13"}}
	l.Apply(&f, nil, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	if f.Muted || !strings.Contains(f.MuteReason, "expired") {
		t.Fatalf("after expiry: %+v", f)
	}
}

func TestParseErrors(t *testing.T) {
	for name, d := range map[string]string{
		"no reason":     "mutes:\n  - checks: [x]\n",
		"matches all":   "mutes:\n  - reason: r\n",
		"bad expiry":    "mutes:\n  - reason: r\n    checks: [x]\n    expires: soon\n",
		"bad regex":     "mutes:\n  - reason: r\n    resources: [\"re:(\"]\n",
		"unknown field": "mutes:\n  - reason: r\n    check: [x]\n",
	} {
		if _, err := Parse([]byte(d)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
