package ec2_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	yec2 "github.com/yagura-dev/yagura/internal/collect/ec2"
)

func TestARNForID(t *testing.T) {
	for id, want := range map[string]string{
		"i-0abc":              "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc",
		"sg-1":                "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-1",
		"subnet-1":            "arn:aws:ec2:eu-west-1:111122223333:subnet/subnet-1",
		"vpc-1":               "arn:aws:ec2:eu-west-1:111122223333:vpc/vpc-1",
		"vpce-1":              "arn:aws:ec2:eu-west-1:111122223333:vpc-endpoint/vpce-1",
		"rtb-1":               "arn:aws:ec2:eu-west-1:111122223333:route-table/rtb-1",
		"igw-1":               "arn:aws:ec2:eu-west-1:111122223333:internet-gateway/igw-1",
		"eigw-1":              "arn:aws:ec2:eu-west-1:111122223333:egress-only-internet-gateway/eigw-1",
		"nat-1":               "arn:aws:ec2:eu-west-1:111122223333:natgateway/nat-1",
		"acl-1":               "arn:aws:ec2:eu-west-1:111122223333:network-acl/acl-1",
		"eni-1":               "arn:aws:ec2:eu-west-1:111122223333:network-interface/eni-1",
		"eipalloc-1":          "arn:aws:ec2:eu-west-1:111122223333:elastic-ip/eipalloc-1",
		"snap-1":              "arn:aws:ec2:eu-west-1::snapshot/snap-1",
		"ami-1":               "arn:aws:ec2:eu-west-1::image/ami-1",
		"fl-1":                "arn:aws:ec2:eu-west-1:111122223333:vpc-flow-log/fl-1",
		"local":               "",
		"":                    "",
		"sg-":                 "",
		"arn:aws:s3:::bucket": "",
		"pcx-1":               "arn:aws:ec2:eu-west-1:111122223333:vpc-peering-connection/pcx-1",
		"tgw-attach-1":        "arn:aws:ec2:eu-west-1:111122223333:transit-gateway-attachment/tgw-attach-1",
		"tgw-1":               "arn:aws:ec2:eu-west-1:111122223333:transit-gateway/tgw-1",
	} {
		if got := yec2.ARNForID("", "eu-west-1", "111122223333", id); got != want {
			t.Errorf("ARNForID(%q) = %q, want %q", id, got, want)
		}
	}
	if got := yec2.ARNForID("aws-cn", "cn-north-1", "111122223333", "vpc-1"); got != "arn:aws-cn:ec2:cn-north-1:111122223333:vpc/vpc-1" {
		t.Errorf("partition: %s", got)
	}
}

func TestInstanceSecurityGroups(t *testing.T) {
	inst := types.Instance{
		SecurityGroups: []types.GroupIdentifier{{GroupId: aws.String("sg-a")}},
		NetworkInterfaces: []types.InstanceNetworkInterface{
			{Groups: []types.GroupIdentifier{{GroupId: aws.String("sg-b")}, {GroupId: aws.String("sg-a")}}},
			{Groups: []types.GroupIdentifier{{GroupId: aws.String("sg-c")}}},
		},
	}
	got := yec2.InstanceSecurityGroups(inst)
	if len(got) != 3 || got[0] != "sg-a" || got[1] != "sg-b" || got[2] != "sg-c" {
		t.Errorf("InstanceSecurityGroups = %v, want [sg-a sg-b sg-c]", got)
	}
}
