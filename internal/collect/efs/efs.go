// Package efs collects EFS file systems (with their backup policy) and EFS access points of
// each region, so that checks can judge encryption at rest, automatic backups and whether
// access points pin clients to a root directory and a POSIX identity.
package efs

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsefs "github.com/aws/aws-sdk-go-v2/service/efs"
	"github.com/aws/aws-sdk-go-v2/service/efs/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// Resource types.
const (
	TypeFileSystem  = "AWS::EFS::FileSystem"
	TypeAccessPoint = "AWS::EFS::AccessPoint"
)

// RelAccessPointOf links an access point to its file system.
const RelAccessPointOf = "access-point-of"

func init() {
	collect.Register(&collect.Collector{
		Name: "efs.file-systems", Service: "elasticfilesystem",
		Actions:       []string{"elasticfilesystem:DescribeFileSystems", "elasticfilesystem:DescribeBackupPolicy"},
		ResourceTypes: []string{TypeFileSystem}, Run: runFileSystems,
	})
	collect.Register(&collect.Collector{
		Name: "efs.access-points", Service: "elasticfilesystem",
		Actions:       []string{"elasticfilesystem:DescribeAccessPoints"},
		ResourceTypes: []string{TypeAccessPoint}, Run: runAccessPoints,
	})
}

func runFileSystems(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := awsefs.NewFromConfig(t.Config)
	p := awsefs.NewDescribeFileSystemsPaginator(client, &awsefs.DescribeFileSystemsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for i := range page.FileSystems {
			fs := &page.FileSystems[i]
			// The SDK struct's members stay top-level; BackupPolicy is added beside them.
			cfg := struct {
				*types.FileSystemDescription
				BackupPolicy *types.BackupPolicy
			}{FileSystemDescription: fs}
			errs := map[string]string{}
			out, err := client.DescribeBackupPolicy(ctx, &awsefs.DescribeBackupPolicyInput{FileSystemId: fs.FileSystemId})
			switch {
			case err == nil:
				cfg.BackupPolicy = out.BackupPolicy
			case awsx.ErrorCode(err) == "PolicyNotFound":
				// No backup policy was ever set: automatic backups are off (null, not an error).
			default:
				_, errs["BackupPolicy"] = awsx.Classify(err)
			}
			arn := aws.ToString(fs.FileSystemArn)
			if arn == "" {
				arn = t.ARN("elasticfilesystem", t.Region, "file-system/"+aws.ToString(fs.FileSystemId))
			}
			name := aws.ToString(fs.Name)
			if name == "" {
				name = aws.ToString(fs.FileSystemId)
			}
			if err := sink.PutResource(resource(t, arn, TypeFileSystem, name, fs.Tags, inventory.MarshalConfig(cfg), errs)); err != nil {
				return err
			}
		}
	}
	return nil
}

func runAccessPoints(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := awsefs.NewFromConfig(t.Config)
	// Without a file system id, DescribeAccessPoints lists every access point of the
	// account-region, so a failure is one listing failure the scan records as coverage.
	p := awsefs.NewDescribeAccessPointsPaginator(client, &awsefs.DescribeAccessPointsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for i := range page.AccessPoints {
			ap := &page.AccessPoints[i]
			arn := aws.ToString(ap.AccessPointArn)
			if arn == "" {
				arn = t.ARN("elasticfilesystem", t.Region, "access-point/"+aws.ToString(ap.AccessPointId))
			}
			name := aws.ToString(ap.Name)
			if name == "" {
				name = aws.ToString(ap.AccessPointId)
			}
			if err := sink.PutResource(resource(t, arn, TypeAccessPoint, name, ap.Tags, inventory.MarshalConfig(ap), nil)); err != nil {
				return err
			}
			if fsID := aws.ToString(ap.FileSystemId); fsID != "" {
				fsARN := t.ARN("elasticfilesystem", t.Region, "file-system/"+fsID)
				if err := sink.PutRelationship(inventory.Relationship{From: arn, To: fsARN, Kind: RelAccessPointOf}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func resource(t *collect.Target, arn, typ, name string, tags []types.Tag, cfg []byte, errs map[string]string) *inventory.Resource {
	m := map[string]string{}
	for _, tag := range tags {
		m[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	if v := m["Name"]; v != "" {
		name = v
	}
	r := &inventory.Resource{ARN: arn, Type: typ, AccountID: t.AccountID, Region: t.Region, Name: name, Tags: m,
		Config: cfg, CollectedAt: time.Now().UTC()}
	if len(errs) > 0 {
		r.Errors = errs
	}
	return r
}
