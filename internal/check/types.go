package check

import (
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/yagura-dev/yagura/internal/check/policy"
)

// Resource types the checks read (CloudFormation naming, as collectors write them; see
// docs/resource-types/).
const (
	TypeBucket               = "AWS::S3::Bucket"
	TypeS3AccountPAB         = "AWS::S3::AccountPublicAccessBlock"
	TypeSecurityGroup        = "AWS::EC2::SecurityGroup"
	TypeNetworkACL           = "AWS::EC2::NetworkAcl"
	TypePrefixList           = "AWS::EC2::PrefixList"
	TypeInstance             = "AWS::EC2::Instance"
	TypeVolume               = "AWS::EC2::Volume"
	TypeSnapshot             = "AWS::EC2::Snapshot"
	TypeImage                = "AWS::EC2::Image"
	TypeVPC                  = "AWS::EC2::VPC"
	TypeSubnet               = "AWS::EC2::Subnet"
	TypeFlowLog              = "AWS::EC2::FlowLog"
	TypeEBSDefault           = "AWS::EC2::EBSEncryptionByDefault"
	TypeCredentialReport     = "AWS::IAM::CredentialReport"
	TypePasswordPolicy       = "AWS::IAM::PasswordPolicy"
	TypeAccountSummary       = "AWS::IAM::AccountSummary"
	TypeUser                 = "AWS::IAM::User"
	TypeGroup                = "AWS::IAM::Group"
	TypeRole                 = "AWS::IAM::Role"
	TypeManagedPolicy        = "AWS::IAM::ManagedPolicy"
	TypeVirtualMFADevice     = "AWS::IAM::VirtualMFADevice"
	TypeServerCertificate    = "AWS::IAM::ServerCertificate"
	TypeTrail                = "AWS::CloudTrail::Trail"
	TypeRecorderStatus       = "AWS::Config::RecorderStatus"
	TypeKMSKey               = "AWS::KMS::Key"
	TypeMetricFilter         = "AWS::Logs::MetricFilter"
	TypeAlarm                = "AWS::CloudWatch::Alarm"
	TypeTopic                = "AWS::SNS::Topic"
	TypeGuardDutyStatus      = "AWS::GuardDuty::AccountStatus"
	TypeGuardDutyDetector    = "AWS::GuardDuty::Detector"
	TypeSecurityHub          = "AWS::SecurityHub::Hub"
	TypeInspectorStatus      = "AWS::Inspector2::AccountStatus"
	TypeAccessAnalyzerStatus = "AWS::AccessAnalyzer::AccountStatus"
	TypeDBInstance           = "AWS::RDS::DBInstance"
	TypeDBCluster            = "AWS::RDS::DBCluster"
	TypeDBSnapshot           = "AWS::RDS::DBSnapshot"
	TypeDBClusterSnapshot    = "AWS::RDS::DBClusterSnapshot"
	TypeLambdaFunction       = "AWS::Lambda::Function"
	TypeECRRepository        = "AWS::ECR::Repository"
	TypeECRRegistryScanning  = "AWS::ECR::RegistryScanningConfiguration"
	TypeEKSCluster           = "AWS::EKS::Cluster"
	TypeLoadBalancer         = "AWS::ElasticLoadBalancingV2::LoadBalancer"
	TypeListener             = "AWS::ElasticLoadBalancingV2::Listener"
	TypeEFSFileSystem        = "AWS::EFS::FileSystem"
	TypeEFSAccessPoint       = "AWS::EFS::AccessPoint"
	TypeTransitGateway       = "AWS::EC2::TransitGateway"
	TypeLaunchTemplate       = "AWS::EC2::LaunchTemplate"
	TypeAlternateContacts    = "AWS::Account::AlternateContacts"
	TypeSSMDocument          = "AWS::SSM::Document"
	TypeSSMManagedInstance   = "AWS::SSM::ManagedInstance"
)

// parsePolicyValue parses a policy stored as a JSON value (object or string); nil when absent.
// The same document text recurs across resources (default key policies, templated bucket and
// role policies), so parsed documents are shared through policyCache; checks only read them.
func parsePolicyValue(raw json.RawMessage) (*policy.Document, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	return policyCache.parse(raw)
}

// policyCache remembers recently parsed policies by their text. It is bounded: when full it
// starts over, which costs a re-parse and never a wrong answer.
var policyCache = &docCache{max: 4096}

type docCache struct {
	mu  sync.RWMutex
	m   map[string]docOrErr
	max int
}

type docOrErr struct {
	d   *policy.Document
	err error
}

func (c *docCache) parse(raw json.RawMessage) (*policy.Document, error) {
	c.mu.RLock()
	v, ok := c.m[string(raw)] // no allocation for the lookup
	c.mu.RUnlock()
	if ok {
		return v.d, v.err
	}
	d, err := policy.Parse(raw)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= c.max {
		c.m = make(map[string]docOrErr, c.max)
	}
	c.m[string(raw)] = docOrErr{d, err}
	c.mu.Unlock()
	return d, err
}

// awsTime parses the timestamps collectors write (RFC 3339, as the SDK marshals time.Time, or
// the credential report's strings); ok false for "N/A", "no_information" and the like.
func awsTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" || s == "N/A" || s == "no_information" || s == "not_supported" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, time.RFC3339, "2006-01-02T15:04:05+00:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func daysBetween(a, b time.Time) int { return int(b.Sub(a).Hours() / 24) }

// boolp reads an optional bool.
func boolp(b *bool) bool { return b != nil && *b }

func doc(url string) string { return url }

// kmsKey is what the checks read of an AWS::KMS::Key (docs/resource-types/kms.md): the
// KeyMetadata fields sit at the top level of Config.
type kmsKey struct {
	KeyManager, KeyState, KeySpec, Origin, KeyUsage string
	KeyRotationEnabled                              *bool
	Policy                                          json.RawMessage
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
