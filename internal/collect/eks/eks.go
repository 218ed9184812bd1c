// Package eks collects the configuration of Amazon EKS clusters: API endpoint exposure,
// control-plane logging, secrets encryption and Kubernetes version.
package eks

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// TypeCluster is the resource type produced here.
const TypeCluster = "AWS::EKS::Cluster"

func init() {
	collect.Register(&collect.Collector{
		Name:          "eks.clusters",
		Service:       "eks",
		Actions:       []string{"eks:ListClusters", "eks:DescribeCluster"},
		ResourceTypes: []string{TypeCluster},
		Run:           collectClusters,
	})
}

func collectClusters(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := eks.NewFromConfig(t.Config)
	p := eks.NewListClustersPaginator(client, &eks.ListClustersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, name := range page.Clusters {
			if err := putCluster(ctx, t, client, sink, name); err != nil {
				return err
			}
		}
	}
	return nil
}

func putCluster(ctx context.Context, t *collect.Target, client *eks.Client, sink collect.Sink, name string) error {
	r := &inventory.Resource{
		ARN:       t.ARN("eks", t.Region, "cluster/"+name),
		Type:      TypeCluster,
		AccountID: t.AccountID,
		Region:    t.Region,
		Name:      name,
	}
	out, err := client.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(name)})
	if err != nil || out.Cluster == nil {
		// The listing proved the cluster exists; without its description every attribute is
		// unknown, which checks must report as ERROR.
		reason := "DescribeCluster returned no cluster"
		if err != nil {
			_, reason = awsx.Classify(err)
		}
		r.Config = inventory.MarshalConfig(map[string]any{"Name": name})
		r.Errors = map[string]string{"Cluster": reason}
		r.CollectedAt = time.Now().UTC()
		return sink.PutResource(r)
	}
	c := out.Cluster
	if c.Arn != nil {
		r.ARN = aws.ToString(c.Arn)
	}
	if len(c.Tags) > 0 {
		r.Tags = c.Tags
	}
	r.Config = inventory.MarshalConfig(c)
	r.CollectedAt = time.Now().UTC()
	if err := sink.PutResource(r); err != nil {
		return err
	}
	var rels []inventory.Relationship
	if c.RoleArn != nil {
		rels = append(rels, inventory.Relationship{From: r.ARN, To: aws.ToString(c.RoleArn), Kind: inventory.RelAssumesRole})
	}
	if v := c.ResourcesVpcConfig; v != nil {
		sgs := v.SecurityGroupIds
		if v.ClusterSecurityGroupId != nil {
			sgs = append(sgs[:len(sgs):len(sgs)], aws.ToString(v.ClusterSecurityGroupId))
		}
		for _, sg := range sgs {
			rels = append(rels, inventory.Relationship{From: r.ARN, To: t.ARN("ec2", t.Region, "security-group/"+sg), Kind: inventory.RelUsesSecurityGroup})
		}
		for _, sn := range v.SubnetIds {
			rels = append(rels, inventory.Relationship{From: r.ARN, To: t.ARN("ec2", t.Region, "subnet/"+sn), Kind: inventory.RelInSubnet})
		}
		if v.VpcId != nil {
			rels = append(rels, inventory.Relationship{From: r.ARN, To: t.ARN("ec2", t.Region, "vpc/"+aws.ToString(v.VpcId)), Kind: inventory.RelInVPC})
		}
	}
	for _, e := range c.EncryptionConfig {
		if e.Provider != nil && e.Provider.KeyArn != nil {
			rels = append(rels, inventory.Relationship{From: r.ARN, To: aws.ToString(e.Provider.KeyArn), Kind: inventory.RelEncryptedBy})
		}
	}
	for _, rel := range rels {
		if err := sink.PutRelationship(rel); err != nil {
			return err
		}
	}
	return nil
}
