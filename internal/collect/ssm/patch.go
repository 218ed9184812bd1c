// Package ssm collects Systems Manager Patch Manager compliance: per managed instance, how many
// patches are missing, failed, critical or security non-compliant.
package ssm

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/native"
)

func init() {
	collect.Register(&collect.Collector{
		Name:    "ssm.patch-compliance",
		Service: "ssm",
		Actions: []string{"ssm:DescribeInstanceInformation", "ssm:DescribeInstancePatchStates"},
		Run:     collectPatchCompliance,
	})
}

// patchStatesMax is how many instance ids DescribeInstancePatchStates accepts at once; the
// instance listing is paged at that size so that each page costs one patch-state query.
const patchStatesMax = 50

// collectPatchCompliance lists the managed instances of the account-region and reads their patch
// states, one page of instances at a time.
func collectPatchCompliance(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := awsssm.NewFromConfig(t.Config)
	ip := awsssm.NewDescribeInstanceInformationPaginator(client, &awsssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(patchStatesMax)})
	for ip.HasMorePages() {
		page, err := ip.NextPage(ctx)
		if err != nil {
			return err
		}
		ids := make([]string, 0, len(page.InstanceInformationList))
		for _, info := range page.InstanceInformationList {
			ids = append(ids, aws.ToString(info.InstanceId))
		}
		for start := 0; start < len(ids); start += patchStatesMax {
			if err := patchStates(ctx, client, t, ids[start:min(start+patchStatesMax, len(ids))], sink); err != nil {
				return err
			}
		}
	}
	return nil
}

func patchStates(ctx context.Context, client *awsssm.Client, t *collect.Target, ids []string, sink collect.Sink) error {
	p := awsssm.NewDescribeInstancePatchStatesPaginator(client, &awsssm.DescribeInstancePatchStatesInput{InstanceIds: ids})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for i := range page.InstancePatchStates {
			if err := sink.PutFinding(native.FromPatchState(t.Partition, t.AccountID, t.Region, &page.InstancePatchStates[i])); err != nil {
				return err
			}
		}
	}
	return nil
}
