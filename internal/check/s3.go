package check

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/yagura-dev/yagura/internal/check/policy"
	"github.com/yagura-dev/yagura/internal/finding"
)

// s3PAB is a public access block configuration (bucket or account level).
type s3PAB struct {
	BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets *bool
}

func (p *s3PAB) all() bool {
	return p != nil && boolp(p.BlockPublicAcls) && boolp(p.IgnorePublicAcls) && boolp(p.BlockPublicPolicy) && boolp(p.RestrictPublicBuckets)
}

type s3Grant struct {
	Grantee struct {
		Type string
		URI  *string
		ID   *string
	}
	Permission string
}

// s3Bucket is what the checks read of an AWS::S3::Bucket (docs/resource-types/s3.md).
type s3Bucket struct {
	Name              string
	Region            string
	Policy            json.RawMessage
	Acl               *struct{ Grants []s3Grant }
	PublicAccessBlock *s3PAB
	Encryption        *struct {
		Rules []struct {
			ApplyServerSideEncryptionByDefault *struct {
				SSEAlgorithm   string
				KMSMasterKeyID *string
			}
		}
	}
	Versioning        *struct{ Status, MFADelete string }
	Logging           *struct{ TargetBucket *string }
	ObjectLock        *struct{ ObjectLockEnabled string }
	OwnershipControls *struct {
		Rules []struct{ ObjectOwnership string }
	}
}

type s3AccountPAB struct {
	PublicAccessBlockConfiguration *s3PAB
}

const (
	allUsersURI  = "http://acs.amazonaws.com/groups/global/AllUsers"
	authUsersURI = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
)

// s3Exposure is the effective public access of a bucket after every block setting.
type s3Exposure struct {
	Read, Write bool
	Evidence    map[string]any
}

// bucketExposure judges a bucket the way S3 does: a policy public in AWS's documented sense
// unless RestrictPublicBuckets (bucket or account) applies; ACL grants to AllUsers or
// AuthenticatedUsers unless IgnorePublicAcls (bucket or account) applies or ACLs are disabled by
// BucketOwnerEnforced. The account setting is read only when it could change the verdict; when
// it could and was not readable, the answer is an error.
func bucketExposure(e *Env, r *Res) (s3Exposure, string) {
	b, err := decode[s3Bucket](r)
	if err != nil {
		return s3Exposure{}, err.Error()
	}
	ex := s3Exposure{Evidence: map[string]any{}}
	var polRes policy.PublicResult
	if d, err := r.cachedPolicy("Policy", b.Policy); err != nil {
		return ex, err.Error()
	} else if d != nil {
		polRes = policy.S3Public(d)
		if len(polRes.Notes) > 0 {
			ex.Evidence["policy_notes"] = polRes.Notes
		}
	}
	var aclRead, aclWrite bool
	var aclGrants []string
	enforced := false
	if b.OwnershipControls != nil {
		for _, rule := range b.OwnershipControls.Rules {
			if rule.ObjectOwnership == "BucketOwnerEnforced" {
				enforced = true
			}
		}
	}
	if b.Acl != nil && !enforced {
		for _, g := range b.Acl.Grants {
			uri := ""
			if g.Grantee.URI != nil {
				uri = *g.Grantee.URI
			}
			if uri != allUsersURI && uri != authUsersURI {
				continue
			}
			switch g.Permission {
			case "READ", "READ_ACP":
				aclRead = true
			case "WRITE", "WRITE_ACP":
				aclWrite = true
			case "FULL_CONTROL":
				aclRead, aclWrite = true, true
			}
			aclGrants = append(aclGrants, uri[strings.LastIndex(uri, "/")+1:]+":"+g.Permission)
		}
	}
	if !polRes.Public && len(aclGrants) == 0 {
		return ex, ""
	}
	bp := b.PublicAccessBlock
	restrict := bp != nil && boolp(bp.RestrictPublicBuckets)
	ignore := bp != nil && boolp(bp.IgnorePublicAcls)
	if (polRes.Public && !restrict) || (len(aclGrants) > 0 && !ignore) {
		if p := e.InputProblem(TypeS3AccountPAB, r.AccountID, "global"); p != "" {
			return ex, "bucket grants public access and the account-level block could not be read: " + p
		}
		acct := e.One(TypeS3AccountPAB, r.AccountID, "global")
		if acct != nil {
			if _, reason := acct.ErrorOf("PublicAccessBlockConfiguration"); reason != "" {
				return ex, "account-level public access block unreadable: " + reason
			}
			a, err := decode[s3AccountPAB](acct)
			if err != nil {
				return ex, err.Error()
			}
			if c := a.PublicAccessBlockConfiguration; c != nil {
				restrict = restrict || boolp(c.RestrictPublicBuckets)
				ignore = ignore || boolp(c.IgnorePublicAcls)
				if boolp(c.RestrictPublicBuckets) || boolp(c.IgnorePublicAcls) {
					ex.Evidence["account_block"] = c
				}
			}
		}
	}
	if polRes.Public {
		if restrict {
			ex.Evidence["policy_blocked_by"] = "RestrictPublicBuckets"
		} else {
			ex.Read, ex.Write = polRes.Read, polRes.Write
			ex.Evidence["public_statements"] = polRes.Statements
		}
	}
	if len(aclGrants) > 0 {
		if ignore {
			ex.Evidence["acl_ignored_by"] = "IgnorePublicAcls"
		} else {
			ex.Read = ex.Read || aclRead
			ex.Write = ex.Write || aclWrite
			ex.Evidence["public_acl_grants"] = aclGrants
		}
	}
	return ex, ""
}

// exposureKey caches a bucket's exposure in its Res: the read and the write check share it.
type exposureKey struct{}

type exposureResult struct {
	ex      s3Exposure
	problem string
}

func s3PublicCheck(write bool) func(e *Env, r *Res) Result {
	return func(e *Env, r *Res) Result {
		x := cached(r, exposureKey{}, func() exposureResult {
			ex, problem := bucketExposure(e, r)
			return exposureResult{ex, problem}
		})
		ex, problem := x.ex, x.problem
		if problem != "" {
			return Errorf("%s", problem)
		}
		what, public := "read", ex.Read
		if write {
			what, public = "write", ex.Write
		}
		if public {
			return Fail(fmt.Sprintf("bucket %s allows public %s access", r.Name, what), ex.Evidence)
		}
		detail := fmt.Sprintf("bucket %s does not allow public %s access", r.Name, what)
		if notes, ok := ex.Evidence["policy_notes"]; ok {
			detail += fmt.Sprintf(" (but note: %v)", notes)
		}
		var ev any
		if len(ex.Evidence) > 0 {
			ev = ex.Evidence
		}
		return Pass(detail, ev)
	}
}

func bucket(r *Res) *s3Bucket {
	b, err := decode[s3Bucket](r)
	if err != nil {
		panic(err)
	}
	return b
}

func init() {
	const s3Doc = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html"
	Register(&Check{
		ID: "s3.bucket_public_read", Title: "S3 buckets should prohibit public read access",
		Description: "Judges the bucket policy, ACL and bucket and account public access blocks as S3 does.",
		Severity:    finding.Critical, ResourceType: TypeBucket, Controls: []string{"fsbp:S3.2"},
		Inputs: []string{TypeS3AccountPAB}, Needs: []string{"Policy", "Acl", "PublicAccessBlock", "OwnershipControls"},
		Risk: "Anyone on the internet can list or download the bucket's objects.",
		Remediation: Remediation{CLI: "aws s3api put-public-access-block --bucket BUCKET --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true",
			Console: "S3 > bucket > Permissions > Block public access > Edit > Block all public access", Doc: s3Doc},
		Eval: s3PublicCheck(false),
	})
	Register(&Check{
		ID: "s3.bucket_public_write", Title: "S3 buckets should prohibit public write access",
		Description: "Public write grants through policy (Put*, Delete*) or ACL (WRITE, FULL_CONTROL).",
		Severity:    finding.Critical, ResourceType: TypeBucket, Controls: []string{"fsbp:S3.3"},
		Inputs: []string{TypeS3AccountPAB}, Needs: []string{"Policy", "Acl", "PublicAccessBlock", "OwnershipControls"},
		Risk: "Anyone can overwrite or delete data, or host malware in the bucket.",
		Remediation: Remediation{CLI: "aws s3api put-public-access-block --bucket BUCKET --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true",
			Console: "S3 > bucket > Permissions > Block public access > Edit > Block all public access", Doc: s3Doc},
		Eval: s3PublicCheck(true),
	})
	Register(&Check{
		ID: "s3.bucket_block_public_access", Title: "S3 buckets should have all block public access settings enabled",
		Severity: finding.High, ResourceType: TypeBucket, Controls: []string{"fsbp:S3.8"},
		Needs:       []string{"PublicAccessBlock"},
		Risk:        "Without the block, a later policy or ACL change can make the bucket public.",
		Remediation: Remediation{CLI: "aws s3api put-public-access-block --bucket BUCKET --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true", Console: "S3 > bucket > Permissions > Block public access", Doc: s3Doc},
		Eval: func(e *Env, r *Res) Result {
			b := bucket(r)
			if b.PublicAccessBlock.all() {
				return Pass("all four bucket-level settings are on", b.PublicAccessBlock)
			}
			return Fail("bucket-level public access block is not fully enabled", map[string]any{"PublicAccessBlock": b.PublicAccessBlock})
		},
	})
	Register(&Check{
		ID: "s3.account_block_public_access", Subject: "arn:{partition}:s3::{account}:account-public-access-block", Title: "S3 Block Public Access should be enabled at the account level",
		Severity: finding.High, ResourceType: TypeS3AccountPAB, Scope: PerAccount,
		Controls: []string{"fsbp:S3.1", "cis-aws-3.0:2.1.4"}, Inputs: []string{TypeS3AccountPAB},
		Risk:        "Any bucket of the account can be made public by a single policy or ACL change.",
		Remediation: Remediation{CLI: "aws s3control put-public-access-block --account-id ACCOUNT --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true", Console: "S3 > Block Public Access settings for this account > Edit", Doc: s3Doc},
		EvalScope: func(e *Env, u Unit) Result {
			r := e.One(TypeS3AccountPAB, u.Account, "global")
			if r == nil {
				return Errorf("account public access block not in the inventory")
			}
			a, err := decode[s3AccountPAB](r)
			if err != nil {
				return Errorf("%v", err)
			}
			res := Fail("account-level public access block is not fully enabled", a)
			if a.PublicAccessBlockConfiguration.all() {
				res = Pass("all four account-level settings are on", a)
			}
			res.ARN, res.Type = r.ARN, r.Type
			return res
		},
	})
	Register(&Check{
		ID: "s3.bucket_ssl_only", Title: "S3 buckets should require requests to use SSL",
		Description: "The bucket policy denies every principal when aws:SecureTransport is false.",
		Severity:    finding.Medium, ResourceType: TypeBucket, Controls: []string{"fsbp:S3.5", "cis-aws-3.0:2.1.1"},
		Needs:       []string{"Policy"},
		Risk:        "Data can be read or altered in transit over plain HTTP.",
		Remediation: Remediation{CLI: "aws s3api put-bucket-policy --bucket BUCKET --policy file://deny-insecure-transport.json", Console: "S3 > bucket > Permissions > Bucket policy: add a Deny statement with Condition Bool aws:SecureTransport false", Doc: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html"},
		Eval: func(e *Env, r *Res) Result {
			d, err := r.cachedPolicy("Policy", bucket(r).Policy)
			if err != nil {
				return Errorf("%v", err)
			}
			if d != nil && d.DeniesInsecureTransport() {
				return Pass("bucket policy denies requests without TLS", nil)
			}
			return Fail("no bucket policy statement denies aws:SecureTransport=false", map[string]any{"has_policy": d != nil})
		},
	})
	Register(&Check{
		ID: "s3.bucket_mfa_delete", Title: "S3 buckets should have MFA delete enabled",
		Severity: finding.Low, ResourceType: TypeBucket, Controls: []string{"cis-aws-3.0:2.1.2"},
		Needs:       []string{"Versioning"},
		Risk:        "A stolen credential can permanently delete object versions.",
		Remediation: Remediation{CLI: "aws s3api put-bucket-versioning --bucket BUCKET --versioning-configuration Status=Enabled,MFADelete=Enabled --mfa 'SERIAL CODE' (as root)", Console: "Only the root user with the CLI can enable MFA delete", Doc: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiFactorAuthenticationDelete.html"},
		Eval: func(e *Env, r *Res) Result {
			v := bucket(r).Versioning
			if v != nil && v.Status == "Enabled" && v.MFADelete == "Enabled" {
				return Pass("versioning with MFA delete", v)
			}
			return Fail("MFA delete is not enabled", v)
		},
	})
	simple := func(id, title, ctl string, sev finding.Severity, need, risk string, rem Remediation, ok func(b *s3Bucket) (bool, string, any)) {
		Register(&Check{ID: id, Title: title, Severity: sev, ResourceType: TypeBucket, Controls: []string{ctl},
			Needs: []string{need}, Risk: risk, Remediation: rem,
			Eval: func(e *Env, r *Res) Result {
				good, detail, ev := ok(bucket(r))
				if good {
					return Pass(detail, ev)
				}
				return Fail(detail, ev)
			}})
	}
	simple("s3.bucket_versioning", "S3 buckets should have versioning enabled", "fsbp:S3.14", finding.Low, "Versioning",
		"Overwritten or deleted objects cannot be recovered.",
		Remediation{CLI: "aws s3api put-bucket-versioning --bucket BUCKET --versioning-configuration Status=Enabled", Console: "S3 > bucket > Properties > Bucket Versioning > Edit", Doc: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html"},
		func(b *s3Bucket) (bool, string, any) {
			if b.Versioning != nil && b.Versioning.Status == "Enabled" {
				return true, "versioning enabled", b.Versioning
			}
			return false, "versioning is not enabled", b.Versioning
		})
	simple("s3.bucket_access_logging", "S3 buckets should have server access logging enabled", "fsbp:S3.9", finding.Medium, "Logging",
		"Requests to the bucket leave no access log for investigations.",
		Remediation{CLI: "aws s3api put-bucket-logging --bucket BUCKET --bucket-logging-status file://logging.json", Console: "S3 > bucket > Properties > Server access logging", Doc: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html"},
		func(b *s3Bucket) (bool, string, any) {
			if b.Logging != nil && b.Logging.TargetBucket != nil {
				return true, "logs to " + *b.Logging.TargetBucket, b.Logging
			}
			return false, "server access logging disabled", nil
		})
	simple("s3.bucket_acl_disabled", "S3 access control lists should not be used to manage user access", "fsbp:S3.12", finding.Medium, "OwnershipControls",
		"ACLs grant access outside of policies and are easy to overlook.",
		Remediation{CLI: "aws s3api put-bucket-ownership-controls --bucket BUCKET --ownership-controls Rules=[{ObjectOwnership=BucketOwnerEnforced}]", Console: "S3 > bucket > Permissions > Object Ownership > ACLs disabled", Doc: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html"},
		func(b *s3Bucket) (bool, string, any) {
			if b.OwnershipControls != nil {
				for _, r := range b.OwnershipControls.Rules {
					if r.ObjectOwnership == "BucketOwnerEnforced" {
						return true, "ACLs disabled (BucketOwnerEnforced)", nil
					}
				}
			}
			return false, "ACLs are enabled on this bucket", b.OwnershipControls
		})
	simple("s3.bucket_object_lock", "S3 buckets should have Object Lock enabled", "fsbp:S3.15", finding.Medium, "ObjectLock",
		"Objects can be deleted or overwritten before their retention ends.",
		Remediation{Console: "S3 > bucket > Properties > Object Lock", Doc: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html"},
		func(b *s3Bucket) (bool, string, any) {
			if b.ObjectLock != nil && b.ObjectLock.ObjectLockEnabled == "Enabled" {
				return true, "Object Lock enabled", nil
			}
			return false, "Object Lock not enabled", nil
		})
	simple("s3.bucket_kms_encryption", "S3 buckets should be encrypted at rest with AWS KMS keys", "fsbp:S3.17", finding.Medium, "Encryption",
		"Data is encrypted with S3-managed keys whose use cannot be audited or restricted with key policies.",
		Remediation{CLI: "aws s3api put-bucket-encryption --bucket BUCKET --server-side-encryption-configuration file://sse-kms.json", Console: "S3 > bucket > Properties > Default encryption > SSE-KMS", Doc: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html"},
		func(b *s3Bucket) (bool, string, any) {
			if b.Encryption != nil {
				for _, rule := range b.Encryption.Rules {
					if d := rule.ApplyServerSideEncryptionByDefault; d != nil && strings.HasPrefix(d.SSEAlgorithm, "aws:kms") {
						return true, "default encryption " + d.SSEAlgorithm, d
					}
				}
			}
			return false, "default encryption does not use KMS", b.Encryption
		})
}
