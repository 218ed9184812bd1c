// Package rds collects the configuration of Amazon RDS: DB instances, clusters and their
// snapshots, with whether each snapshot is public.
package rds

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// Resource types produced here.
const (
	TypeDBInstance        = "AWS::RDS::DBInstance"
	TypeDBCluster         = "AWS::RDS::DBCluster"
	TypeDBSnapshot        = "AWS::RDS::DBSnapshot"
	TypeDBClusterSnapshot = "AWS::RDS::DBClusterSnapshot"
)

func init() {
	collect.Register(&collect.Collector{
		Name:          "rds.db-instances",
		Service:       "rds",
		Actions:       []string{"rds:DescribeDBInstances"},
		ResourceTypes: []string{TypeDBInstance},
		Run:           collectInstances,
	})
	collect.Register(&collect.Collector{
		Name:          "rds.db-clusters",
		Service:       "rds",
		Actions:       []string{"rds:DescribeDBClusters"},
		ResourceTypes: []string{TypeDBCluster},
		Run:           collectClusters,
	})
	collect.Register(&collect.Collector{
		Name:          "rds.db-snapshots",
		Service:       "rds",
		Actions:       []string{"rds:DescribeDBSnapshots", "rds:DescribeDBSnapshotAttributes"},
		ResourceTypes: []string{TypeDBSnapshot},
		Run:           collectSnapshots,
	})
	collect.Register(&collect.Collector{
		Name:          "rds.db-cluster-snapshots",
		Service:       "rds",
		Actions:       []string{"rds:DescribeDBClusterSnapshots", "rds:DescribeDBClusterSnapshotAttributes"},
		ResourceTypes: []string{TypeDBClusterSnapshot},
		Run:           collectClusterSnapshots,
	})
}

func tags(list []types.Tag) map[string]string {
	if len(list) == 0 {
		return nil
	}
	m := make(map[string]string, len(list))
	for _, t := range list {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func sgARN(t *collect.Target, id string) string {
	return t.ARN("ec2", t.Region, "security-group/"+id)
}

func collectInstances(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := rds.NewFromConfig(t.Config)
	p := rds.NewDescribeDBInstancesPaginator(client, &rds.DescribeDBInstancesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		for i := range page.DBInstances {
			db := &page.DBInstances[i]
			arn := aws.ToString(db.DBInstanceArn)
			if err := sink.PutResource(&inventory.Resource{
				ARN:         arn,
				Type:        TypeDBInstance,
				AccountID:   t.AccountID,
				Region:      t.Region,
				Name:        aws.ToString(db.DBInstanceIdentifier),
				Tags:        tags(db.TagList),
				Config:      inventory.MarshalConfig(db),
				CollectedAt: now,
			}); err != nil {
				return err
			}
			var rels []inventory.Relationship
			for _, sg := range db.VpcSecurityGroups {
				rels = append(rels, inventory.Relationship{From: arn, To: sgARN(t, aws.ToString(sg.VpcSecurityGroupId)), Kind: inventory.RelUsesSecurityGroup})
			}
			if g := db.DBSubnetGroup; g != nil {
				// The instance may be placed in any subnet of its group, so every one counts as
				// a place it can be reached from.
				for _, sn := range g.Subnets {
					rels = append(rels, inventory.Relationship{From: arn, To: t.ARN("ec2", t.Region, "subnet/"+aws.ToString(sn.SubnetIdentifier)), Kind: inventory.RelInSubnet})
				}
				if g.VpcId != nil {
					rels = append(rels, inventory.Relationship{From: arn, To: t.ARN("ec2", t.Region, "vpc/"+aws.ToString(g.VpcId)), Kind: inventory.RelInVPC})
				}
			}
			if db.KmsKeyId != nil {
				rels = append(rels, inventory.Relationship{From: arn, To: aws.ToString(db.KmsKeyId), Kind: inventory.RelEncryptedBy})
			}
			if err := putRels(sink, rels); err != nil {
				return err
			}
		}
	}
	return nil
}

func putRels(sink collect.Sink, rels []inventory.Relationship) error {
	for _, r := range rels {
		if err := sink.PutRelationship(r); err != nil {
			return err
		}
	}
	return nil
}

func collectClusters(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := rds.NewFromConfig(t.Config)
	p := rds.NewDescribeDBClustersPaginator(client, &rds.DescribeDBClustersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		for i := range page.DBClusters {
			c := &page.DBClusters[i]
			arn := aws.ToString(c.DBClusterArn)
			if err := sink.PutResource(&inventory.Resource{
				ARN:         arn,
				Type:        TypeDBCluster,
				AccountID:   t.AccountID,
				Region:      t.Region,
				Name:        aws.ToString(c.DBClusterIdentifier),
				Tags:        tags(c.TagList),
				Config:      inventory.MarshalConfig(c),
				CollectedAt: now,
			}); err != nil {
				return err
			}
			var rels []inventory.Relationship
			for _, sg := range c.VpcSecurityGroups {
				rels = append(rels, inventory.Relationship{From: arn, To: sgARN(t, aws.ToString(sg.VpcSecurityGroupId)), Kind: inventory.RelUsesSecurityGroup})
			}
			for _, m := range c.DBClusterMembers {
				rels = append(rels, inventory.Relationship{From: t.ARN("rds", t.Region, "db:"+aws.ToString(m.DBInstanceIdentifier)), To: arn, Kind: RelMemberOf})
			}
			if c.KmsKeyId != nil {
				rels = append(rels, inventory.Relationship{From: arn, To: aws.ToString(c.KmsKeyId), Kind: inventory.RelEncryptedBy})
			}
			if err := putRels(sink, rels); err != nil {
				return err
			}
		}
	}
	return nil
}

// RelMemberOf links a DB instance to the cluster it belongs to.
const RelMemberOf = "member-of"

// snapshotConfig is a snapshot as the API describes it plus what DescribeDB*SnapshotAttributes
// says about who may restore it.
type snapshotConfig struct {
	*types.DBSnapshot
	snapshotAccess
}

type clusterSnapshotConfig struct {
	*types.DBClusterSnapshot
	snapshotAccess
}

type snapshotAccess struct {
	// Public is true when the "restore" attribute contains "all": any AWS account can copy or
	// restore the snapshot. Null when the attributes could not be read.
	Public *bool
	// SharedWith lists the other accounts allowed to restore it (without "all").
	SharedWith []string
	Attributes any
}

// restoreAccess reads the "restore" attribute: public when it holds "all".
func restoreAccess(name string, values []string) (public bool, shared []string, ok bool) {
	if name != "restore" {
		return false, nil, false
	}
	shared = []string{}
	for _, v := range values {
		if v == "all" {
			public = true
			continue
		}
		shared = append(shared, v)
	}
	return public, shared, true
}

// automated snapshots cannot be shared (AWS requires copying them to a manual one first), so
// their attributes are not asked for.
func shareable(snapshotType *string) bool {
	return aws.ToString(snapshotType) != "automated"
}

// snapshot is what DB and cluster snapshots share: how they are written is one path.
type snapshot struct {
	arn, name, kmsKey string
	typ               string
	snapshotType      *string
	tags              []types.Tag
}

// putSnapshot writes one snapshot. readAttrs reads its attributes (only for shareable ones) as
// the API's own list plus name/values pairs; when it fails, Public and SharedWith are null and
// Errors says why, so that checks answer ERROR rather than "not public".
func putSnapshot(t *collect.Target, sink collect.Sink, s snapshot, cfg any, access *snapshotAccess,
	readAttrs func() (raw any, names []string, values [][]string, err error)) error {
	*access = snapshotAccess{Public: aws.Bool(false), SharedWith: []string{}}
	r := &inventory.Resource{ARN: s.arn, Type: s.typ, AccountID: t.AccountID, Region: t.Region, Name: s.name, Tags: tags(s.tags)}
	if shareable(s.snapshotType) {
		raw, names, values, err := readAttrs()
		if err != nil {
			access.Public, access.SharedWith = nil, nil
			_, reason := awsx.Classify(err)
			r.Errors = map[string]string{"Public": reason, "SharedWith": reason, "Attributes": reason}
		} else {
			access.Attributes = raw
			for i, name := range names {
				if pub, shared, ok := restoreAccess(name, values[i]); ok {
					access.Public, access.SharedWith = aws.Bool(pub), shared
				}
			}
		}
	}
	r.Config = inventory.MarshalConfig(cfg)
	r.CollectedAt = time.Now().UTC()
	if err := sink.PutResource(r); err != nil {
		return err
	}
	if s.kmsKey != "" {
		return sink.PutRelationship(inventory.Relationship{From: r.ARN, To: s.kmsKey, Kind: inventory.RelEncryptedBy})
	}
	return nil
}

func collectSnapshots(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := rds.NewFromConfig(t.Config)
	// Without SnapshotType/IncludeShared/IncludePublic the API lists the account's own manual
	// and automated snapshots, which is exactly what this account is responsible for.
	p := rds.NewDescribeDBSnapshotsPaginator(client, &rds.DescribeDBSnapshotsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for i := range page.DBSnapshots {
			s := &page.DBSnapshots[i]
			cfg := &snapshotConfig{DBSnapshot: s}
			err := putSnapshot(t, sink, snapshot{arn: aws.ToString(s.DBSnapshotArn), name: aws.ToString(s.DBSnapshotIdentifier), kmsKey: aws.ToString(s.KmsKeyId),
				typ: TypeDBSnapshot, snapshotType: s.SnapshotType, tags: s.TagList}, cfg, &cfg.snapshotAccess,
				func() (any, []string, [][]string, error) {
					out, err := client.DescribeDBSnapshotAttributes(ctx, &rds.DescribeDBSnapshotAttributesInput{DBSnapshotIdentifier: s.DBSnapshotIdentifier})
					if err != nil || out.DBSnapshotAttributesResult == nil {
						return nil, nil, nil, err
					}
					attrs := out.DBSnapshotAttributesResult.DBSnapshotAttributes
					names, values := make([]string, len(attrs)), make([][]string, len(attrs))
					for i, a := range attrs {
						names[i], values[i] = aws.ToString(a.AttributeName), a.AttributeValues
					}
					return attrs, names, values, nil
				})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func collectClusterSnapshots(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := rds.NewFromConfig(t.Config)
	p := rds.NewDescribeDBClusterSnapshotsPaginator(client, &rds.DescribeDBClusterSnapshotsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for i := range page.DBClusterSnapshots {
			s := &page.DBClusterSnapshots[i]
			cfg := &clusterSnapshotConfig{DBClusterSnapshot: s}
			err := putSnapshot(t, sink, snapshot{arn: aws.ToString(s.DBClusterSnapshotArn), name: aws.ToString(s.DBClusterSnapshotIdentifier), kmsKey: aws.ToString(s.KmsKeyId),
				typ: TypeDBClusterSnapshot, snapshotType: s.SnapshotType, tags: s.TagList}, cfg, &cfg.snapshotAccess,
				func() (any, []string, [][]string, error) {
					out, err := client.DescribeDBClusterSnapshotAttributes(ctx, &rds.DescribeDBClusterSnapshotAttributesInput{DBClusterSnapshotIdentifier: s.DBClusterSnapshotIdentifier})
					if err != nil || out.DBClusterSnapshotAttributesResult == nil {
						return nil, nil, nil, err
					}
					attrs := out.DBClusterSnapshotAttributesResult.DBClusterSnapshotAttributes
					names, values := make([]string, len(attrs)), make([][]string, len(attrs))
					for i, a := range attrs {
						names[i], values[i] = aws.ToString(a.AttributeName), a.AttributeValues
					}
					return attrs, names, values, nil
				})
			if err != nil {
				return err
			}
		}
	}
	return nil
}
