package efs_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsefs "github.com/aws/aws-sdk-go-v2/service/efs"
	"github.com/aws/aws-sdk-go-v2/service/efs/types"

	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	efsc "github.com/yagura-dev/yagura/internal/collect/efs"
	"github.com/yagura-dev/yagura/internal/mototest"
)

func TestFileSystemsAndAccessPoints(t *testing.T) {
	srv := mototest.New(t)
	ctx := context.Background()
	cfg := srv.Config(t, "us-east-1")
	client := awsefs.NewFromConfig(cfg)
	must := collecttest.Must

	backed, err := client.CreateFileSystem(ctx, &awsefs.CreateFileSystemInput{CreationToken: aws.String("a"), Encrypted: aws.Bool(true), Backup: aws.Bool(true),
		Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("shared-home")}}})
	must(t, err, "CreateFileSystem")
	plain, err := client.CreateFileSystem(ctx, &awsefs.CreateFileSystemInput{CreationToken: aws.String("b")})
	must(t, err, "CreateFileSystem")
	ap, err := client.CreateAccessPoint(ctx, &awsefs.CreateAccessPointInput{FileSystemId: backed.FileSystemId, ClientToken: aws.String("c"),
		PosixUser: &types.PosixUser{Uid: aws.Int64(1000), Gid: aws.Int64(1000)}, RootDirectory: &types.RootDirectory{Path: aws.String("/app")}})
	must(t, err, "CreateAccessPoint")
	open, err := client.CreateAccessPoint(ctx, &awsefs.CreateAccessPointInput{FileSystemId: plain.FileSystemId, ClientToken: aws.String("d")})
	must(t, err, "CreateAccessPoint")
	_, err = awsefs.NewFromConfig(collecttest.RegionConfig(cfg, "eu-west-1")).CreateFileSystem(ctx, &awsefs.CreateFileSystemInput{CreationToken: aws.String("e")})
	must(t, err, "CreateFileSystem eu-west-1")

	s, err := collecttest.Run(t, "efs.file-systems", cfg, collecttest.Mgmt, "us-east-1")
	must(t, err, "efs.file-systems")
	if n := len(s.ByType(efsc.TypeFileSystem)); n != 2 {
		t.Fatalf("us-east-1: %d file systems, want 2", n)
	}
	r := s.ByARN(aws.ToString(backed.FileSystemArn))
	if r == nil {
		t.Fatalf("no resource for %s", aws.ToString(backed.FileSystemArn))
	}
	m := collecttest.Decode(t, r)
	bp, _ := m["BackupPolicy"].(map[string]any)
	if r.Name != "shared-home" || m["Encrypted"] != true || m["FileSystemId"] != aws.ToString(backed.FileSystemId) || bp["Status"] != "ENABLED" || len(r.Errors) != 0 {
		t.Errorf("backed-up file system: name %q config %s errors %v", r.Name, r.Config, r.Errors)
	}
	r = s.ByARN(aws.ToString(plain.FileSystemArn))
	if m := collecttest.Decode(t, r); m["Encrypted"] != false || m["BackupPolicy"] != nil || len(r.Errors) != 0 {
		t.Errorf("plain file system: backup policy must be null (not configured), not an error: %s %v", r.Config, r.Errors)
	}

	s, err = collecttest.Run(t, "efs.access-points", cfg, collecttest.Mgmt, "us-east-1")
	must(t, err, "efs.access-points")
	if n := len(s.ByType(efsc.TypeAccessPoint)); n != 2 {
		t.Fatalf("%d access points, want 2", n)
	}
	r = s.ByARN(aws.ToString(ap.AccessPointArn))
	m = collecttest.Decode(t, r)
	root, _ := m["RootDirectory"].(map[string]any)
	user, _ := m["PosixUser"].(map[string]any)
	if root["Path"] != "/app" || user["Uid"] != float64(1000) {
		t.Errorf("access point config %s", r.Config)
	}
	if r := s.ByARN(aws.ToString(open.AccessPointArn)); r == nil {
		t.Error("second access point missing")
	}
	if !s.HasRelationship(aws.ToString(ap.AccessPointArn), efsc.RelAccessPointOf, aws.ToString(backed.FileSystemArn)) {
		t.Errorf("no access-point-of relationship to %s in %v", aws.ToString(backed.FileSystemArn), s.Relationships)
	}
}
