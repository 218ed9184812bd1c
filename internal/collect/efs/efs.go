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
		Name: "efs.file-systems", Service: "efs",
		Actions:       []string{"elasticfilesystem:DescribeFileSystems", "elasticfilesystem:DescribeBackupPolicy"},
		ResourceTypes: []string{TypeFileSystem}, Run: runFileSystems,
	})
	collect.Register(&collect.Collector{
		Name: "efs.access-points", Service: "efs",
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
			r := resource(t, TypeFileSystem, fs.FileSystemArn, "file-system/", fs.FileSystemId, fs.Name, fs.Tags, inventory.MarshalConfig(cfg), errs)
			if err := sink.PutResource(r); err != nil {
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
			r := resource(t, TypeAccessPoint, ap.AccessPointArn, "access-point/", ap.AccessPointId, ap.Name, ap.Tags, inventory.MarshalConfig(ap), nil)
			if err := sink.PutResource(r); err != nil {
				return err
			}
			arn := r.ARN
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

// resource builds the record of a file system or access point: the API's ARN (or one built from
// the id), and as name the Name tag, else the API's Name, else the id.
func resource(t *collect.Target, typ string, arn *string, arnPrefix string, id, apiName *string, tags []types.Tag, cfg []byte, errs map[string]string) *inventory.Resource {
	m := map[string]string{}
	for _, tag := range tags {
		m[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	r := &inventory.Resource{ARN: aws.ToString(arn), Type: typ, AccountID: t.AccountID, Region: t.Region, Name: m["Name"], Tags: m,
		Config: cfg, CollectedAt: time.Now().UTC()}
	if r.ARN == "" {
		r.ARN = t.ARN("elasticfilesystem", t.Region, arnPrefix+aws.ToString(id))
	}
	for _, n := range []*string{apiName, id} {
		if r.Name == "" {
			r.Name = aws.ToString(n)
		}
	}
	if len(errs) > 0 {
		r.Errors = errs
	}
	return r
}
