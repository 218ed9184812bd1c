package trail

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// decodeOne runs fn on the Event decoded from one record's JSON.
func decodeOne(t testing.TB, rec string, fn func(*Event)) {
	t.Helper()
	d := newDecoder()
	_, err := d.decodeFile([]byte(`{"Records":[`+rec+`]}`), "test", func(e *Event) error { fn(e); return nil })
	if err != nil {
		t.Fatalf("decode %s: %v", rec, err)
	}
}

func matchedRules(t *testing.T, rules []*Rule, rec string) []string {
	t.Helper()
	h := NewHunter(rules)
	var names []string
	decodeOne(t, rec, func(e *Event) {
		h.candidates(e.EventName, func(r *Rule) {
			if r.Match(e) {
				names = append(names, r.Name)
			}
		})
		// The index must never hide a rule that matches.
		for _, r := range rules {
			found := false
			for _, n := range names {
				found = found || n == r.Name
			}
			if r.Match(e) && !found {
				t.Errorf("rule %s matches but the eventName index skipped it", r.Name)
			}
		}
	})
	return names
}

const acctA = "111111111111"

func rec(name, source string, extra string) string {
	s := fmt.Sprintf(`{"eventVersion":"1.08","eventTime":"2026-03-04T10:00:00Z","eventName":%q,"eventSource":%q,"awsRegion":"us-east-1","recipientAccountId":%q,"sourceIPAddress":"198.51.100.7","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::%s:user/alice","accountId":%q,"userName":"alice","accessKeyId":"AKIAEXAMPLE"}`, name, source, acctA, acctA, acctA)
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

func recAs(name, source, identity, extra string) string {
	s := fmt.Sprintf(`{"eventVersion":"1.08","eventTime":"2026-03-04T10:00:00Z","eventName":%q,"eventSource":%q,"awsRegion":"us-east-1","recipientAccountId":%q,"userIdentity":%s`, name, source, acctA, identity)
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

const rootID = `{"type":"Root","arn":"arn:aws:iam::111111111111:root","accountId":"111111111111","principalId":"111111111111"}`

func TestBuiltinRules(t *testing.T) {
	rules, bad, err := BuiltinRules(Placeholders{"org_accounts": {acctA, "222222222222"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Errorf("built-in rule not evaluable: %v", b)
	}
	cases := []struct {
		rule     string
		pos, neg []string
	}{
		{"root_account_usage",
			[]string{recAs("ListBuckets", "s3.amazonaws.com", rootID, "")},
			[]string{rec("ListBuckets", "s3.amazonaws.com", ""), recAs("ListBuckets", "s3.amazonaws.com", rootID, `"eventType":"AwsServiceEvent"`)}},
		{"console_login_without_mfa",
			[]string{rec("ConsoleLogin", "signin.amazonaws.com", `"additionalEventData":{"MFAUsed":"No"},"responseElements":{"ConsoleLogin":"Success"}`)},
			[]string{rec("ConsoleLogin", "signin.amazonaws.com", `"additionalEventData":{"MFAUsed":"Yes"},"responseElements":{"ConsoleLogin":"Success"}`),
				rec("ConsoleLogin", "signin.amazonaws.com", `"additionalEventData":{"MFAUsed":"No"},"responseElements":{"ConsoleLogin":"Failure"}`)}},
		{"cloudtrail_stopped_or_deleted",
			[]string{rec("StopLogging", "cloudtrail.amazonaws.com", ""), rec("DeleteTrail", "cloudtrail.amazonaws.com", "")},
			[]string{rec("StartLogging", "cloudtrail.amazonaws.com", ""), rec("StopLogging", "example.amazonaws.com", "")}},
		{"cloudtrail_updated",
			[]string{rec("UpdateTrail", "cloudtrail.amazonaws.com", "")},
			[]string{rec("DescribeTrails", "cloudtrail.amazonaws.com", "")}},
		{"cloudtrail_event_selectors_reduced",
			[]string{rec("PutEventSelectors", "cloudtrail.amazonaws.com", `"requestParameters":{"eventSelectors":[{"readWriteType":"WriteOnly","includeManagementEvents":true}]}`),
				rec("PutEventSelectors", "cloudtrail.amazonaws.com", `"requestParameters":{"eventSelectors":[{"readWriteType":"All","includeManagementEvents":false}]}`)},
			[]string{rec("PutEventSelectors", "cloudtrail.amazonaws.com", `"requestParameters":{"eventSelectors":[{"readWriteType":"All","includeManagementEvents":true}]}`)}},
		{"guardduty_disabled",
			[]string{rec("DeleteDetector", "guardduty.amazonaws.com", "")},
			[]string{rec("CreateDetector", "guardduty.amazonaws.com", "")}},
		{"config_recorder_stopped",
			[]string{rec("StopConfigurationRecorder", "config.amazonaws.com", ""), rec("DeleteDeliveryChannel", "config.amazonaws.com", "")},
			[]string{rec("StartConfigurationRecorder", "config.amazonaws.com", "")}},
		{"security_group_open_to_world",
			[]string{rec("AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", `"requestParameters":{"groupId":"sg-1","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"10.0.0.0/8"},{"cidrIp":"0.0.0.0/0"}]}}]}}`),
				rec("AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", `"requestParameters":{"ipPermissions":{"items":[{"ipv6Ranges":{"items":[{"cidrIpv6":"::/0"}]}}]}}`)},
			[]string{rec("AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", `"requestParameters":{"ipPermissions":{"items":[{"ipRanges":{"items":[{"cidrIp":"10.0.0.0/8"}]}}]}}`)}},
		{"access_key_created_for_other_user",
			[]string{rec("CreateAccessKey", "iam.amazonaws.com", `"requestParameters":{"userName":"bob"}`)},
			[]string{rec("CreateAccessKey", "iam.amazonaws.com", `"requestParameters":{"userName":"alice"}`), rec("CreateAccessKey", "iam.amazonaws.com", "")}},
		{"admin_policy_attached",
			[]string{rec("AttachRolePolicy", "iam.amazonaws.com", `"requestParameters":{"roleName":"r","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}`)},
			[]string{rec("AttachRolePolicy", "iam.amazonaws.com", `"requestParameters":{"roleName":"r","policyArn":"arn:aws:iam::aws:policy/ReadOnlyAccess"}`)}},
		{"s3_bucket_made_public",
			[]string{rec("PutBucketPolicy", "s3.amazonaws.com", `"requestParameters":{"bucketName":"b","bucketPolicy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}]}}`),
				rec("PutBucketPolicy", "s3.amazonaws.com", `"requestParameters":{"bucketPolicy":{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"}}]}}`),
				rec("PutBucketAcl", "s3.amazonaws.com", `"requestParameters":{"AccessControlPolicy":{"AccessControlList":{"Grant":[{"Grantee":{"URI":"http://acs.amazonaws.com/groups/global/AllUsers"},"Permission":"READ"}]}}}`),
				rec("DeleteBucketPublicAccessBlock", "s3.amazonaws.com", `"requestParameters":{"bucketName":"b"}`)},
			[]string{rec("PutBucketPolicy", "s3.amazonaws.com", `"requestParameters":{"bucketPolicy":{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"}}]}}`),
				rec("PutBucketAcl", "s3.amazonaws.com", `"requestParameters":{"AccessControlPolicy":{"AccessControlList":{"Grant":[{"Grantee":{"ID":"abc"},"Permission":"READ"}]}}}`)}},
		{"kms_key_deletion",
			[]string{rec("ScheduleKeyDeletion", "kms.amazonaws.com", `"requestParameters":{"keyId":"k","pendingWindowInDays":7}`)},
			[]string{rec("CancelKeyDeletion", "kms.amazonaws.com", "")}},
		{"role_assumed_from_unknown_account",
			[]string{recAs("AssumeRole", "sts.amazonaws.com", `{"type":"AWSAccount","principalId":"AIDAX","accountId":"999999999999"}`, "")},
			[]string{recAs("AssumeRole", "sts.amazonaws.com", `{"type":"AWSAccount","principalId":"AIDAX","accountId":"222222222222"}`, ""),
				recAs("AssumeRole", "sts.amazonaws.com", `{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}`, "")}},
		{"iam_user_console_access",
			[]string{rec("CreateLoginProfile", "iam.amazonaws.com", `"requestParameters":{"userName":"bob"}`)},
			[]string{rec("GetLoginProfile", "iam.amazonaws.com", "")}},
		{"mfa_device_deactivated",
			[]string{rec("DeactivateMFADevice", "iam.amazonaws.com", "")},
			[]string{rec("EnableMFADevice", "iam.amazonaws.com", "")}},
		{"root_password_change",
			[]string{recAs("PasswordUpdated", "signin.amazonaws.com", rootID, "")},
			[]string{rec("PasswordUpdated", "signin.amazonaws.com", "")}},
		{"organization_leave",
			[]string{rec("LeaveOrganization", "organizations.amazonaws.com", "")},
			[]string{rec("DescribeOrganization", "organizations.amazonaws.com", "")}},
		{"ebs_snapshot_made_public",
			[]string{rec("ModifySnapshotAttribute", "ec2.amazonaws.com", `"requestParameters":{"createVolumePermission":{"add":{"items":[{"group":"all"}]}}}`)},
			[]string{rec("ModifySnapshotAttribute", "ec2.amazonaws.com", `"requestParameters":{"createVolumePermission":{"add":{"items":[{"userId":"222222222222"}]}}}`)}},
		{"ebs_default_encryption_disabled",
			[]string{rec("DisableEbsEncryptionByDefault", "ec2.amazonaws.com", "")},
			[]string{rec("EnableEbsEncryptionByDefault", "ec2.amazonaws.com", "")}},
		{"access_denied_burst",
			[]string{rec("GetObject", "s3.amazonaws.com", `"errorCode":"AccessDenied"`)}, // one event matches; the burst is tested below
			[]string{rec("GetObject", "s3.amazonaws.com", "")}},
	}
	tested := map[string]bool{}
	for _, c := range cases {
		tested[c.rule] = true
		for _, p := range c.pos {
			if !contains(matchedRules(t, rules, p), c.rule) {
				t.Errorf("%s: positive event not matched: %s", c.rule, p)
			}
		}
		for _, n := range c.neg {
			if contains(matchedRules(t, rules, n), c.rule) {
				t.Errorf("%s: negative event matched: %s", c.rule, n)
			}
		}
	}
	for _, r := range rules {
		if !tested[r.Name] {
			t.Errorf("built-in rule %s has no test case", r.Name)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestBuiltinRuleNeedsAccounts(t *testing.T) {
	_, bad, err := BuiltinRules(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 1 || !strings.Contains(bad[0].Reason, "org_accounts") {
		t.Fatalf("want only the unknown-account rule reported without accounts, got %v", bad)
	}
}

func TestAccessDeniedBurstAggregation(t *testing.T) {
	rules, _, _ := BuiltinRules(nil)
	h := NewHunter(rules)
	base := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	emit := func(arn string, n int, step time.Duration) {
		for i := 0; i < n; i++ {
			r := fmt.Sprintf(`{"eventTime":%q,"eventName":"GetObject","eventSource":"s3.amazonaws.com","recipientAccountId":"111111111111","awsRegion":"us-east-1","errorCode":"AccessDenied","userIdentity":{"type":"IAMUser","arn":%q}}`,
				base.Add(time.Duration(i)*step).Format(time.RFC3339), arn)
			decodeOne(t, r, func(e *Event) { h.Observe(e) })
		}
	}
	emit("arn:aws:iam::111111111111:user/burst", 25, 10*time.Second) // 25 in 4 minutes: alert
	emit("arn:aws:iam::111111111111:user/slow", 25, 2*time.Minute)   // 25 spread over 50 minutes: no alert
	emit("arn:aws:iam::111111111111:user/few", 20, time.Second)      // exactly 20: not > 20
	var got []*Alert
	for _, a := range h.Alerts() {
		if a.Rule == "access_denied_burst" {
			got = append(got, a)
		}
	}
	if len(got) != 1 || got[0].Group != "arn:aws:iam::111111111111:user/burst" || got[0].Count != 25 {
		for _, a := range got {
			t.Logf("%+v", *a)
		}
		t.Fatalf("want one burst alert for user/burst with 25 events, got %d", len(got))
	}
	f := got[0].Finding()
	if f.Source != "cloudtrail" || f.Severity.String() != "medium" || f.ResourceARN != "arn:aws:iam::111111111111:user/burst" || f.AccountID != acctA {
		t.Errorf("finding %+v", f)
	}
	var evid map[string]any
	if err := json.Unmarshal(f.Evidence, &evid); err != nil || len(evid["events"].([]any)) != MaxEvidence {
		t.Errorf("evidence: %v %v", err, evid["count"])
	}
}

// TestSigmaFeatures loads a directory of rules using every supported feature, plus rules that
// must be reported (not dropped) with their reason.
func TestSigmaFeatures(t *testing.T) {
	rule := func(det string) string {
		return "title: t\nlogsource:\n  product: aws\n  service: cloudtrail\nlevel: low\ndetection:\n" + det
	}
	fsys := fstest.MapFS{
		"r/contains.yml":   {Data: []byte(rule("  sel:\n    userAgent|contains: Boto3\n  condition: sel"))},
		"r/startswith.yml": {Data: []byte(rule("  sel:\n    eventName|startswith: PutBucket\n  condition: sel"))},
		"r/endswith.yml":   {Data: []byte(rule("  sel:\n    userIdentity.arn|endswith: ':user/alice'\n  condition: sel"))},
		"r/re.yml":         {Data: []byte(rule("  sel:\n    eventName|re: '^(Put|Delete)Bucket(Policy|Acl)$'\n  condition: sel"))},
		"r/all.yml":        {Data: []byte(rule("  sel:\n    tags.items.key|all:\n      - env\n      - owner\n  condition: sel"))},
		"r/cidr.yml":       {Data: []byte(rule("  sel:\n    sourceIPAddress|cidr: 198.51.100.0/24\n  condition: sel"))},
		"r/null.yml":       {Data: []byte(rule("  sel:\n    eventName: PutBucketPolicy\n    errorCode: null\n  condition: sel"))},
		"r/wild.yml":       {Data: []byte(rule("  sel:\n    eventName: 'Put*Po?icy'\n  condition: sel"))},
		"r/escape.yml":     {Data: []byte(rule("  sel:\n    requestParameters.key: 'a\\*b'\n  condition: sel"))},
		"r/oneof.yml":      {Data: []byte(rule("  sel_a:\n    eventName: Nope\n  sel_b:\n    eventName: PutBucketPolicy\n  condition: 1 of sel_*"))},
		"r/allof.yml":      {Data: []byte(rule("  sel_a:\n    eventName: PutBucketPolicy\n  sel_b:\n    awsRegion: us-east-1\n  condition: all of sel_*"))},
		"r/them.yml":       {Data: []byte(rule("  a:\n    eventName: PutBucketPolicy\n  b:\n    awsRegion: eu-west-1\n  condition: 1 of them"))},
		"r/allthem.yml":    {Data: []byte(rule("  a:\n    eventName: PutBucketPolicy\n  b:\n    awsRegion: eu-west-1\n  condition: all of them"))},
		"r/paren.yml":      {Data: []byte(rule("  a:\n    eventName: PutBucketPolicy\n  b:\n    awsRegion: eu-west-1\n  c:\n    awsRegion: us-east-1\n  condition: a and (b or c) and not (b and c)"))},
		"r/list.yml":       {Data: []byte(rule("  sel:\n    - eventName: Nope\n    - awsRegion: us-east-1\n      eventSource: s3.amazonaws.com\n  condition: sel"))},
		"r/keywords.yml":   {Data: []byte(rule("  kw:\n    - 'examplebucket'\n  condition: kw"))},
		"r/exists.yml":     {Data: []byte(rule("  sel:\n    requestParameters.bucketName|exists: true\n  condition: sel"))},
		"r/cased.yml":      {Data: []byte(rule("  sel:\n    eventName|cased: putbucketpolicy\n  condition: sel"))},
		"r/fieldref.yml":   {Data: []byte(rule("  sel:\n    requestParameters.owner|fieldref: userIdentity.userName\n  condition: sel"))},
		"r/gt.yml":         {Data: []byte(rule("  sel:\n    requestParameters.size|gt: 100\n  condition: sel"))},
		// Not evaluable: each must come back with a reason.
		"r/bad_modifier.yml":  {Data: []byte(rule("  sel:\n    eventName|base64offset|contains: abc\n  condition: sel"))},
		"r/bad_condition.yml": {Data: []byte(rule("  sel:\n    eventName: x\n  condition: sel | near other"))},
		"r/bad_logsource.yml": {Data: []byte("title: win\nlogsource:\n  product: windows\n  service: security\ndetection:\n  sel:\n    EventID: 4625\n  condition: sel\n")},
		"r/bad_unknown.yml":   {Data: []byte(rule("  sel:\n    eventName: x\n  condition: sel and missing"))},
		"r/bad_corr.yml":      {Data: []byte("title: c\ncorrelation:\n  type: event_count\n  rules: [x]\n")},
	}
	rules, bad, err := LoadRules(fsys, "r", nil)
	if err != nil {
		t.Fatal(err)
	}
	wantBad := map[string]string{"bad_modifier": "unsupported modifier \"base64offset\"", "bad_condition": "unsupported aggregation",
		"bad_logsource": "wrong logsource", "bad_unknown": "unknown selection", "bad_corr": "correlation"}
	if len(bad) != len(wantBad) {
		t.Errorf("reported %d rules, want %d: %v", len(bad), len(wantBad), bad)
	}
	for _, b := range bad {
		name := strings.TrimSuffix(filepath.Base(b.File), ".yml")
		if w, ok := wantBad[name]; !ok || !strings.Contains(b.Reason, w) {
			t.Errorf("%s: reason %q, want it to mention %q", name, b.Reason, w)
		}
	}
	event := `{"eventTime":"2026-03-04T10:00:00Z","eventName":"PutBucketPolicy","eventSource":"s3.amazonaws.com","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"[Boto3/1.34.0 Python/3.11]","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111111111111:user/alice","userName":"alice"},"requestParameters":{"bucketName":"examplebucket","key":"a*b","owner":"alice","size":101},"tags":{"items":[{"key":"env"},{"key":"owner"}]},"errorCode":null}`
	negative := `{"eventTime":"2026-03-04T10:00:00Z","eventName":"GetObject","eventSource":"ec2.amazonaws.com","awsRegion":"eu-central-1","sourceIPAddress":"203.0.113.9","userAgent":"console","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111111111111:user/bob","userName":"bob"},"requestParameters":{"bucketName":null,"key":"axxb","owner":"alice","size":99},"tags":{"items":[{"key":"env"}]},"errorCode":"AccessDenied"}`
	if len(rules) != 20 {
		t.Fatalf("loaded %d rules, want 20", len(rules))
	}
	for _, r := range rules {
		var pos, neg bool
		decodeOne(t, event, func(e *Event) { pos = r.Match(e) })
		decodeOne(t, negative, func(e *Event) { neg = r.Match(e) })
		wantPos := r.Name != "allthem" && r.Name != "cased"
		if pos != wantPos {
			t.Errorf("%s on the positive event: %v, want %v", r.Name, pos, wantPos)
		}
		if neg {
			t.Errorf("%s matched the negative event", r.Name)
		}
	}
}

func TestRulesDirFromDisk(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.yml"), []byte("title: a\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s:\n    eventName: X\n  condition: s\n"), 0o644)
	rules, bad, err := LoadRules(os.DirFS(dir), ".", nil)
	if err != nil || len(rules) != 1 || len(bad) != 0 || rules[0].EventNames[0] != "x" {
		t.Fatalf("%v %v %v", rules, bad, err)
	}
}
