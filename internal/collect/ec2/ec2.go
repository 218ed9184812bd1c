// Package ec2 collects the EC2 and VPC inventory of one account-region (instances, security
// groups, the network they sit in, EBS volumes, snapshots, AMIs, Elastic IPs and account-level
// EBS settings) as inventory resources and relationships.
package ec2

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// Resource types produced by this package, CloudFormation naming.
const (
	TypeInstance               = "AWS::EC2::Instance"
	TypeSecurityGroup          = "AWS::EC2::SecurityGroup"
	TypeVPC                    = "AWS::EC2::VPC"
	TypeSubnet                 = "AWS::EC2::Subnet"
	TypeRouteTable             = "AWS::EC2::RouteTable"
	TypeInternetGateway        = "AWS::EC2::InternetGateway"
	TypeNatGateway             = "AWS::EC2::NatGateway"
	TypeNetworkACL             = "AWS::EC2::NetworkAcl"
	TypeNetworkInterface       = "AWS::EC2::NetworkInterface"
	TypePrefixList             = "AWS::EC2::PrefixList"
	TypeVPCEndpoint            = "AWS::EC2::VPCEndpoint"
	TypeFlowLog                = "AWS::EC2::FlowLog"
	TypeVolume                 = "AWS::EC2::Volume"
	TypeSnapshot               = "AWS::EC2::Snapshot"
	TypeImage                  = "AWS::EC2::Image"
	TypeEIP                    = "AWS::EC2::EIP"
	TypeEBSEncryptionByDefault = "AWS::EC2::EBSEncryptionByDefault"
)

// idPrefixes maps the prefix of an EC2 resource id to the resource-type segment of its ARN,
// as listed in the IAM service authorization reference for EC2.
var idPrefixes = []struct{ prefix, segment string }{
	{"i-", "instance"},
	{"sg-", "security-group"},
	{"vpc-", "vpc"},
	{"subnet-", "subnet"},
	{"rtb-", "route-table"},
	{"igw-", "internet-gateway"},
	{"eigw-", "egress-only-internet-gateway"},
	{"nat-", "natgateway"},
	{"acl-", "network-acl"},
	{"eni-", "network-interface"},
	{"pl-", "prefix-list"},
	{"vpce-", "vpc-endpoint"},
	{"fl-", "vpc-flow-log"},
	{"vol-", "volume"},
	{"snap-", "snapshot"},
	{"ami-", "image"},
	{"eipalloc-", "elastic-ip"},
	{"vgw-", "vpn-gateway"},
	{"tgw-attach-", "transit-gateway-attachment"}, // before tgw-: first match wins
	{"tgw-rtb-", "transit-gateway-route-table"},
	{"tgw-", "transit-gateway"},
	{"pcx-", "vpc-peering-connection"},
	{"lt-", "launch-template"},
	{"cagw-", "carrier-gateway"},
	{"lgw-", "local-gateway"},
}

// ARNForID returns the ARN of the EC2 resource with the given id (i-…, sg-…, subnet-…, vpc-…,
// rtb-…, igw-…, nat-…, acl-…, eni-…, pl-…, vpce-…, fl-…, vol-…, snap-…, ami-…, eipalloc-…,
// vgw-…, tgw-…, pcx-…) in the given partition, region and account, in the format this package
// uses for its resources; "" for an id it does not recognise. Checks and risk analysis use it to
// turn the ids inside a resource's Config (an instance's SubnetId, a rule's GroupId) into the
// ARNs of the resources the ec2 collectors wrote. Snapshots and AMIs carry no account in their
// ARN, as in AWS. An empty partition means "aws".
func ARNForID(partition, region, account, id string) string {
	if partition == "" {
		partition = "aws"
	}
	for _, p := range idPrefixes {
		if strings.HasPrefix(id, p.prefix) && len(id) > len(p.prefix) {
			acct := account
			if p.segment == "snapshot" || p.segment == "image" {
				acct = ""
			}
			return "arn:" + partition + ":ec2:" + region + ":" + acct + ":" + p.segment + "/" + id
		}
	}
	return ""
}

// TagMap turns EC2 tags into a map; it is nil when there are none.
func TagMap(tags []types.Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func client(t *collect.Target) *ec2.Client { return ec2.NewFromConfig(t.Config) }

// arnOf is ARNForID for the target's partition, region and account.
func arnOf(t *collect.Target, id string) string {
	return ARNForID(t.Partition, t.Region, t.AccountID, id)
}

// pager is what every SDK paginator offers; eachPage drives one page at a time so that a
// collector writes a page to the sink before it asks for the next.
type pager[O any] interface {
	HasMorePages() bool
	NextPage(context.Context, ...func(*ec2.Options)) (O, error)
}

func eachPage[O any](ctx context.Context, p pager[O], fn func(O) error) error {
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		if err := fn(out); err != nil {
			return err
		}
	}
	return nil
}

// newResource builds the record of one resource; the Name tag wins over the natural name.
func newResource(t *collect.Target, typ, arn, name string, tags []types.Tag, config any, extras map[string]any) *inventory.Resource {
	tm := TagMap(tags)
	if n := tm["Name"]; n != "" {
		name = n
	}
	return &inventory.Resource{
		ARN:         arn,
		Type:        typ,
		AccountID:   t.AccountID,
		Region:      t.Region,
		Name:        name,
		Tags:        tm,
		Config:      configWith(config, extras),
		CollectedAt: time.Now().UTC(),
	}
}

// configWith marshals the SDK struct and adds extra top-level keys read by follow-up calls.
func configWith(v any, extras map[string]any) json.RawMessage {
	base := inventory.MarshalConfig(v)
	if len(extras) == 0 {
		return base
	}
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(base, &m); err != nil {
		m = map[string]json.RawMessage{}
	}
	for k, x := range extras {
		m[k] = inventory.MarshalConfig(x)
	}
	return inventory.MarshalConfig(m)
}

// setErr records a failed follow-up read of attr.
func setErr(r *inventory.Resource, attr string, err error) {
	if r.Errors == nil {
		r.Errors = map[string]string{}
	}
	_, reason := awsx.Classify(err)
	r.Errors[attr] = reason
}

// gone reports whether a follow-up call failed because the resource was deleted after the
// listing; such a resource is not written rather than written with an error.
func gone(err error) bool {
	return strings.HasSuffix(awsx.ErrorCode(err), ".NotFound")
}

// relate writes an edge when both ends are known ARNs (a KMS key id or alias such as
// alias/aws/ebs is not a resource ARN and makes no edge).
func relate(sink collect.Sink, from, kind, to string) error {
	if from == "" || !strings.HasPrefix(to, "arn:") {
		return nil
	}
	return sink.PutRelationship(inventory.Relationship{From: from, To: to, Kind: kind})
}
