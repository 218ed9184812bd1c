// Package ssm collects the configuration side of AWS Systems Manager: the nodes it manages
// (agent, ping status, platform) and account-region service settings such as public sharing of
// SSM documents. Patch states are findings, collected elsewhere.
package ssm

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// Resource types produced here.
const (
	TypeManagedInstance = "AWS::SSM::ManagedInstance"
	TypeServiceSetting  = "AWS::SSM::ServiceSetting"
)

// RelManagedInstanceOf links an SSM managed node to the EC2 instance it is.
const RelManagedInstanceOf = "managed-instance-of"

// PublicSharingSetting is the service setting that decides whether SSM documents of the
// account-region may be shared publicly.
const PublicSharingSetting = "/ssm/documents/console/public-sharing-permission"

func init() {
	collect.Register(&collect.Collector{
		Name:          "ssm.managed-instances",
		Service:       "ssm",
		Actions:       []string{"ssm:DescribeInstanceInformation"},
		ResourceTypes: []string{TypeManagedInstance},
		Run:           collectInstances,
	})
	collect.Register(&collect.Collector{
		Name:          "ssm.service-settings",
		Service:       "ssm",
		Actions:       []string{"ssm:GetServiceSetting"},
		ResourceTypes: []string{TypeServiceSetting},
		Run:           collectSettings,
	})
}

// ManagedInstanceARN is the ARN of a managed node. AWS uses this form for hybrid nodes (mi-…);
// yagura uses it for EC2 nodes too, so that the SSM record and the EC2 instance keep distinct
// ARNs and are linked by a relationship.
func ManagedInstanceARN(t *collect.Target, id string) string {
	return t.ARN("ssm", t.Region, "managed-instance/"+id)
}

func collectInstances(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	p := ssm.NewDescribeInstanceInformationPaginator(ssm.NewFromConfig(t.Config), &ssm.DescribeInstanceInformationInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		for i := range page.InstanceInformationList {
			info := &page.InstanceInformationList[i]
			id := aws.ToString(info.InstanceId)
			arn := ManagedInstanceARN(t, id)
			if err := sink.PutResource(&inventory.Resource{
				ARN:         arn,
				Type:        TypeManagedInstance,
				AccountID:   t.AccountID,
				Region:      t.Region,
				Name:        id,
				Config:      inventory.MarshalConfig(info),
				CollectedAt: now,
			}); err != nil {
				return err
			}
			var rel inventory.Relationship
			switch {
			case strings.HasPrefix(id, "i-"):
				rel = inventory.Relationship{From: arn, To: t.ARN("ec2", t.Region, "instance/"+id), Kind: RelManagedInstanceOf}
			case info.IamRole != nil:
				// A hybrid node acts with its service role's permissions.
				rel = inventory.Relationship{From: arn, To: t.ARN("iam", "", "role/"+aws.ToString(info.IamRole)), Kind: inventory.RelAssumesRole}
			default:
				continue
			}
			if err := sink.PutRelationship(rel); err != nil {
				return err
			}
		}
	}
	return nil
}

func collectSettings(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	out, err := ssm.NewFromConfig(t.Config).GetServiceSetting(ctx, &ssm.GetServiceSettingInput{SettingId: aws.String(PublicSharingSetting)})
	if err != nil {
		return err
	}
	arn := t.ARN("ssm", t.Region, "servicesetting"+PublicSharingSetting)
	if out.ServiceSetting != nil && out.ServiceSetting.ARN != nil {
		arn = aws.ToString(out.ServiceSetting.ARN)
	}
	return sink.PutResource(&inventory.Resource{
		ARN:         arn,
		Type:        TypeServiceSetting,
		AccountID:   t.AccountID,
		Region:      t.Region,
		Name:        PublicSharingSetting,
		Config:      inventory.MarshalConfig(out.ServiceSetting),
		CollectedAt: time.Now().UTC(),
	})
}
