package check

import (
	"encoding/json"
	"testing"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/store"
)

const bucketARN = "arn:aws:s3:::b1"

func bucketRes(policy string, extra map[string]any, errs map[string]string) *inventory.Resource {
	cfg := map[string]any{"Name": "b1", "Region": region, "Policy": json.RawMessage(policy), "Acl": map[string]any{"Grants": []any{}},
		"PublicAccessBlock": nil, "OwnershipControls": nil, "Versioning": nil, "Logging": nil, "Encryption": nil, "ObjectLock": nil}
	for k, v := range extra {
		cfg[k] = v
	}
	b, _ := json.Marshal(cfg)
	return res(TypeBucket, bucketARN, string(b), errs)
}

func acctPAB(on bool) *inventory.Resource {
	cfg := `{"PublicAccessBlockConfiguration":null}`
	if on {
		cfg = `{"PublicAccessBlockConfiguration":{"BlockPublicAcls":true,"IgnorePublicAcls":true,"BlockPublicPolicy":true,"RestrictPublicBuckets":true}}`
	}
	return res(TypeS3AccountPAB, "arn:aws:s3::"+acct+":account-public-access-block", cfg, nil)
}

func stmt(s string) string { return `{"Version":"2012-10-17","Statement":[` + s + `]}` }

const getAll = `"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b1/*"`

func TestS3Public(t *testing.T) {
	cov := okCoverage()
	read := func(policy string, extra map[string]any, acctOn bool) func(t *testing.T) Result {
		return func(t *testing.T) Result {
			return evalOne(t, "s3.bucket_public_read", newTestEnv(cov, acctPAB(acctOn)), bucketRes(policy, extra, nil))
		}
	}
	write := func(policy string, extra map[string]any) func(t *testing.T) Result {
		return func(t *testing.T) Result {
			return evalOne(t, "s3.bucket_public_write", newTestEnv(cov, acctPAB(false)), bucketRes(policy, extra, nil))
		}
	}
	allUsers := func(perm string) map[string]any {
		return map[string]any{"Acl": map[string]any{"Grants": []any{map[string]any{"Grantee": map[string]any{"Type": "Group", "URI": allUsersURI}, "Permission": perm}}}}
	}
	runCases(t, []tcase{
		{"no policy", finding.Pass, "", read(`null`, nil, false)},
		{"principal star", finding.Fail, "public read", read(stmt(`{"Principal":"*",`+getAll+`}`), nil, false)},
		{"principal AWS star", finding.Fail, "", read(stmt(`{"Principal":{"AWS":"*"},`+getAll+`}`), nil, false)},
		{"policy as string", finding.Fail, "", read(`"`+jsonEscape(stmt(`{"Principal":"*",`+getAll+`}`))+`"`, nil, false)},
		{"fixed principal", finding.Pass, "", read(stmt(`{"Principal":{"AWS":"arn:aws:iam::444455556666:root"},`+getAll+`}`), nil, false)},
		{"source vpce fixed", finding.Pass, "", read(stmt(`{"Principal":"*",`+getAll+`,"Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1a2b"}}}`), nil, false)},
		{"source vpce wildcard", finding.Fail, "", read(stmt(`{"Principal":"*",`+getAll+`,"Condition":{"StringLike":{"aws:SourceVpce":"vpce-*"}}}`), nil, false)},
		{"org id variable", finding.Fail, "", read(stmt(`{"Principal":"*",`+getAll+`,"Condition":{"StringEquals":{"aws:PrincipalOrgID":"${aws:PrincipalTag/org}"}}}`), nil, false)},
		{"org id fixed", finding.Pass, "", read(stmt(`{"Principal":"*",`+getAll+`,"Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}}`), nil, false)},
		{"negated condition", finding.Fail, "", read(stmt(`{"Principal":"*",`+getAll+`,"Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1"}}}`), nil, false)},
		{"IfExists condition", finding.Fail, "", read(stmt(`{"Principal":"*",`+getAll+`,"Condition":{"StringEqualsIfExists":{"aws:SourceVpce":"vpce-1"}}}`), nil, false)},
		{"private cidr", finding.Pass, "", read(stmt(`{"Principal":"*",`+getAll+`,"Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8"]}}}`), nil, false)},
		{"public cidr noted", finding.Pass, "public internet addresses", read(stmt(`{"Principal":"*",`+getAll+`,"Condition":{"IpAddress":{"aws:SourceIp":"198.51.100.0/24"}}}`), nil, false)},
		{"0.0.0.0/1 is public", finding.Fail, "", read(stmt(`{"Principal":"*",`+getAll+`,"Condition":{"IpAddress":{"aws:SourceIp":"0.0.0.0/1"}}}`), nil, false)},
		{"ipv6 ::/0 is public", finding.Fail, "", read(stmt(`{"Principal":"*",`+getAll+`,"Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","::/0"]}}}`), nil, false)},
		{"NotPrincipal allow", finding.Fail, "", read(stmt(`{"NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},`+getAll+`}`), nil, false)},
		{"deny star only", finding.Pass, "", read(stmt(`{"Principal":"*","Effect":"Deny","Action":"s3:*","Resource":"*"}`), nil, false)},
		{"non data action", finding.Pass, "", read(stmt(`{"Principal":"*","Effect":"Allow","Action":"s3:GetBucketLocation","Resource":"*"}`), nil, false)},
		{"wildcard action", finding.Fail, "", read(stmt(`{"Principal":"*","Effect":"Allow","Action":"s3:Get*","Resource":"*"}`), nil, false)},
		{"bucket restrict blocks policy", finding.Pass, "", read(stmt(`{"Principal":"*",`+getAll+`}`), map[string]any{"PublicAccessBlock": map[string]any{"RestrictPublicBuckets": true}}, false)},
		{"only BlockPublicPolicy does not block existing", finding.Fail, "", read(stmt(`{"Principal":"*",`+getAll+`}`), map[string]any{"PublicAccessBlock": map[string]any{"BlockPublicPolicy": true}}, false)},
		{"account block overrides", finding.Pass, "", read(stmt(`{"Principal":"*",`+getAll+`}`), nil, true)},
		{"acl AllUsers READ", finding.Fail, "", read(`null`, allUsers("READ"), false)},
		{"acl ignored by account", finding.Pass, "", read(`null`, allUsers("READ"), true)},
		{"acl disabled by ownership", finding.Pass, "", read(`null`, merge(allUsers("READ"), map[string]any{"OwnershipControls": map[string]any{"Rules": []any{map[string]any{"ObjectOwnership": "BucketOwnerEnforced"}}}}), false)},
		{"write: read-only policy passes", finding.Pass, "", write(stmt(`{"Principal":"*",`+getAll+`}`), nil)},
		{"write: put object fails", finding.Fail, "public write", write(stmt(`{"Principal":"*","Effect":"Allow","Action":["s3:PutObject"],"Resource":"arn:aws:s3:::b1/*"}`), nil)},
		{"write: acl WRITE", finding.Fail, "", write(`null`, allUsers("WRITE"))},
		{"write: AuthenticatedUsers FULL_CONTROL", finding.Fail, "", write(`null`, map[string]any{"Acl": map[string]any{"Grants": []any{map[string]any{"Grantee": map[string]any{"Type": "Group", "URI": authUsersURI}, "Permission": "FULL_CONTROL"}}}})},
		{"error: policy unreadable", finding.Error, "could not read Policy", func(t *testing.T) Result {
			return evalOne(t, "s3.bucket_public_read", newTestEnv(cov, acctPAB(false)), bucketRes(`null`, nil, map[string]string{"Policy": "access denied: s3:GetBucketPolicy"}))
		}},
		{"error: account block unreadable and it matters", finding.Error, "account-level block", func(t *testing.T) Result {
			c := withCoverage(cov, TypeS3AccountPAB, store.CoverageDenied, "AccessDenied")
			return evalOne(t, "s3.bucket_public_read", newTestEnv(c), bucketRes(stmt(`{"Principal":"*",`+getAll+`}`), nil, nil))
		}},
		{"account block unreadable but not needed", finding.Pass, "", func(t *testing.T) Result {
			c := withCoverage(cov, TypeS3AccountPAB, store.CoverageDenied, "AccessDenied")
			return evalOne(t, "s3.bucket_public_read", newTestEnv(c), bucketRes(`null`, nil, nil))
		}},
	})
}

func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

func TestS3Settings(t *testing.T) {
	cov := okCoverage()
	one := func(id, policy string, extra map[string]any, errs map[string]string) func(t *testing.T) Result {
		return func(t *testing.T) Result { return evalOne(t, id, newTestEnv(cov), bucketRes(policy, extra, errs)) }
	}
	ssl := stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b1","arn:aws:s3:::b1/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}`)
	runCases(t, []tcase{
		{"ssl deny", finding.Pass, "", one("s3.bucket_ssl_only", ssl, nil, nil)},
		{"ssl missing", finding.Fail, "", one("s3.bucket_ssl_only", `null`, nil, nil)},
		{"ssl deny for one principal only", finding.Fail, "", one("s3.bucket_ssl_only", stmt(`{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`), nil, nil)},
		{"ssl error", finding.Error, "", one("s3.bucket_ssl_only", `null`, nil, map[string]string{"Policy": "access denied"})},
		{"bpa on", finding.Pass, "", one("s3.bucket_block_public_access", `null`, map[string]any{"PublicAccessBlock": map[string]any{"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true}}, nil)},
		{"bpa partial", finding.Fail, "", one("s3.bucket_block_public_access", `null`, map[string]any{"PublicAccessBlock": map[string]any{"BlockPublicAcls": true}}, nil)},
		{"bpa error", finding.Error, "", one("s3.bucket_block_public_access", `null`, nil, map[string]string{"PublicAccessBlock": "throttled"})},
		{"versioning on", finding.Pass, "", one("s3.bucket_versioning", `null`, map[string]any{"Versioning": map[string]any{"Status": "Enabled"}}, nil)},
		{"versioning suspended", finding.Fail, "", one("s3.bucket_versioning", `null`, map[string]any{"Versioning": map[string]any{"Status": "Suspended"}}, nil)},
		{"mfa delete", finding.Pass, "", one("s3.bucket_mfa_delete", `null`, map[string]any{"Versioning": map[string]any{"Status": "Enabled", "MFADelete": "Enabled"}}, nil)},
		{"no mfa delete", finding.Fail, "", one("s3.bucket_mfa_delete", `null`, nil, nil)},
		{"kms", finding.Pass, "", one("s3.bucket_kms_encryption", `null`, map[string]any{"Encryption": map[string]any{"Rules": []any{map[string]any{"ApplyServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "aws:kms"}}}}}, nil)},
		{"aes256", finding.Fail, "", one("s3.bucket_kms_encryption", `null`, map[string]any{"Encryption": map[string]any{"Rules": []any{map[string]any{"ApplyServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}}}}}, nil)},
		{"logging", finding.Pass, "", one("s3.bucket_access_logging", `null`, map[string]any{"Logging": map[string]any{"TargetBucket": "logs"}}, nil)},
		{"no logging", finding.Fail, "", one("s3.bucket_access_logging", `null`, nil, nil)},
		{"acl disabled", finding.Pass, "", one("s3.bucket_acl_disabled", `null`, map[string]any{"OwnershipControls": map[string]any{"Rules": []any{map[string]any{"ObjectOwnership": "BucketOwnerEnforced"}}}}, nil)},
		{"acl enabled", finding.Fail, "", one("s3.bucket_acl_disabled", `null`, nil, nil)},
		{"object lock", finding.Pass, "", one("s3.bucket_object_lock", `null`, map[string]any{"ObjectLock": map[string]any{"ObjectLockEnabled": "Enabled"}}, nil)},
		{"no object lock", finding.Fail, "", one("s3.bucket_object_lock", `null`, nil, nil)},
		{"account bpa on", finding.Pass, "", func(t *testing.T) Result {
			return evalUnit(t, "s3.account_block_public_access", newTestEnv(cov, acctPAB(true)), "global")
		}},
		{"account bpa off", finding.Fail, "", func(t *testing.T) Result {
			return evalUnit(t, "s3.account_block_public_access", newTestEnv(cov, acctPAB(false)), "global")
		}},
		{"account bpa denied", finding.Error, "denied", func(t *testing.T) Result {
			return evalUnit(t, "s3.account_block_public_access", newTestEnv(withCoverage(cov, TypeS3AccountPAB, store.CoverageDenied, "AccessDenied")), "global")
		}},
	})
}
