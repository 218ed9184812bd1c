package ec2

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

func init() {
	collect.Register(&collect.Collector{
		Name: "ec2.instances", Service: "ec2", Actions: []string{"ec2:DescribeInstances"},
		ResourceTypes: []string{TypeInstance}, Run: collectInstances,
	})
	collect.Register(&collect.Collector{
		Name: "ec2.volumes", Service: "ec2", Actions: []string{"ec2:DescribeVolumes"},
		ResourceTypes: []string{TypeVolume}, Run: collectVolumes,
	})
	collect.Register(&collect.Collector{
		Name: "ec2.snapshots", Service: "ec2", Actions: []string{"ec2:DescribeSnapshots", "ec2:DescribeSnapshotAttribute"},
		ResourceTypes: []string{TypeSnapshot}, Run: collectSnapshots,
	})
	collect.Register(&collect.Collector{
		Name: "ec2.images", Service: "ec2", Actions: []string{"ec2:DescribeImages"},
		ResourceTypes: []string{TypeImage}, Run: collectImages,
	})
	collect.Register(&collect.Collector{
		Name: "ec2.ebs-encryption-by-default", Service: "ec2",
		Actions:       []string{"ec2:GetEbsEncryptionByDefault", "ec2:GetEbsDefaultKmsKeyId"},
		ResourceTypes: []string{TypeEBSEncryptionByDefault}, Run: collectEBSDefaults,
	})
}

// InstanceSecurityGroups returns the ids of the security groups of an instance: those listed
// on the instance and those on its network interfaces (where AWS really attaches them; an
// instance launched with explicit interfaces lists them only there), without duplicates.
func InstanceSecurityGroups(inst types.Instance) []string {
	var ids []string
	seen := map[string]bool{}
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, g := range inst.SecurityGroups {
		add(aws.ToString(g.GroupId))
	}
	for _, n := range inst.NetworkInterfaces {
		for _, g := range n.Groups {
			add(aws.ToString(g.GroupId))
		}
	}
	return ids
}

// collectInstances writes one resource per instance (not per reservation); the reservation's
// ids are added as the extra keys ReservationId, OwnerId and RequesterId.
func collectInstances(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	p := ec2.NewDescribeInstancesPaginator(client(t), &ec2.DescribeInstancesInput{MaxResults: aws.Int32(pageSize)})
	return eachPage(ctx, p, func(out *ec2.DescribeInstancesOutput) error {
		for _, res := range out.Reservations {
			for _, inst := range res.Instances {
				id := aws.ToString(inst.InstanceId)
				arn := arnOf(t, id)
				r := newResource(t, TypeInstance, arn, id, inst.Tags, inst, map[string]any{
					"ReservationId": res.ReservationId, "OwnerId": res.OwnerId, "RequesterId": res.RequesterId,
				})
				if err := sink.PutResource(r); err != nil {
					return err
				}
				for _, g := range InstanceSecurityGroups(inst) {
					if err := relate(sink, arn, inventory.RelUsesSecurityGroup, arnOf(t, g)); err != nil {
						return err
					}
				}
				subnets := map[string]bool{aws.ToString(inst.SubnetId): true}
				for _, n := range inst.NetworkInterfaces {
					subnets[aws.ToString(n.SubnetId)] = true
				}
				for s := range subnets {
					if err := relate(sink, arn, inventory.RelInSubnet, arnOf(t, s)); err != nil {
						return err
					}
				}
				if err := relate(sink, arn, inventory.RelInVPC, arnOf(t, aws.ToString(inst.VpcId))); err != nil {
					return err
				}
				if inst.IamInstanceProfile != nil {
					if err := relate(sink, arn, inventory.RelHasInstanceProfile, aws.ToString(inst.IamInstanceProfile.Arn)); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
}

func collectVolumes(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	p := ec2.NewDescribeVolumesPaginator(client(t), &ec2.DescribeVolumesInput{MaxResults: aws.Int32(500)})
	return eachPage(ctx, p, func(out *ec2.DescribeVolumesOutput) error {
		for _, v := range out.Volumes {
			id := aws.ToString(v.VolumeId)
			arn := aws.ToString(v.VolumeArn)
			if arn == "" {
				arn = arnOf(t, id)
			}
			if err := sink.PutResource(newResource(t, TypeVolume, arn, id, v.Tags, v, nil)); err != nil {
				return err
			}
			for _, a := range v.Attachments {
				if err := relate(sink, arn, inventory.RelAttachedTo, arnOf(t, aws.ToString(a.InstanceId))); err != nil {
					return err
				}
			}
			if err := relate(sink, arn, inventory.RelEncryptedBy, aws.ToString(v.KmsKeyId)); err != nil {
				return err
			}
		}
		return nil
	})
}

// collectSnapshots writes the account's own snapshots with two extra keys from
// DescribeSnapshotAttribute(createVolumePermission): CreateVolumePermissions (who may restore
// it) and Public (true when the group "all" may).
func collectSnapshots(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	c := client(t)
	p := ec2.NewDescribeSnapshotsPaginator(c, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, MaxResults: aws.Int32(pageSize)})
	return eachPage(ctx, p, func(out *ec2.DescribeSnapshotsOutput) error {
		for _, s := range out.Snapshots {
			// OwnerIds=self already restricts the listing in AWS; emulators that ignore the
			// filter would otherwise make the account own every public AMI's snapshot.
			if o := aws.ToString(s.OwnerId); o != "" && o != t.AccountID {
				continue
			}
			id := aws.ToString(s.SnapshotId)
			arn := arnOf(t, id)
			extras := map[string]any{"Public": nil, "CreateVolumePermissions": nil}
			attr, err := c.DescribeSnapshotAttribute(ctx, &ec2.DescribeSnapshotAttributeInput{
				SnapshotId: s.SnapshotId, Attribute: types.SnapshotAttributeNameCreateVolumePermission,
			})
			if err == nil {
				public := false
				perms := attr.CreateVolumePermissions
				if perms == nil {
					perms = []types.CreateVolumePermission{}
				}
				for _, pm := range perms {
					if pm.Group == types.PermissionGroupAll {
						public = true
					}
				}
				extras["Public"], extras["CreateVolumePermissions"] = public, perms
			}
			if gone(err) {
				continue
			}
			r := newResource(t, TypeSnapshot, arn, id, s.Tags, s, extras)
			if err != nil {
				setErr(r, "Public", err)
				setErr(r, "CreateVolumePermissions", err)
			}
			if err := sink.PutResource(r); err != nil {
				return err
			}
			if err := relate(sink, arn, inventory.RelEncryptedBy, aws.ToString(s.KmsKeyId)); err != nil {
				return err
			}
		}
		return nil
	})
}

// collectImages writes the account's own AMIs; the extra key Public repeats the image's own
// Public field as a plain bool so every check reads publicity the same way as for snapshots.
func collectImages(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	p := ec2.NewDescribeImagesPaginator(client(t), &ec2.DescribeImagesInput{Owners: []string{"self"}, MaxResults: aws.Int32(pageSize)})
	return eachPage(ctx, p, func(out *ec2.DescribeImagesOutput) error {
		for _, im := range out.Images {
			id := aws.ToString(im.ImageId)
			name := aws.ToString(im.Name)
			if name == "" {
				name = id
			}
			r := newResource(t, TypeImage, arnOf(t, id), name, im.Tags, im, map[string]any{"Public": aws.ToBool(im.Public)})
			if err := sink.PutResource(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// ebsDefaults is the Config of the account-region EBS encryption setting.
type ebsDefaults struct {
	EbsEncryptionByDefault bool
	SseType                types.SSEType `json:",omitempty"`
	KmsKeyId               *string
}

// collectEBSDefaults writes the account-region setting "encrypt new EBS volumes by default" as
// one resource with the synthetic ARN arn:PARTITION:ec2:REGION:ACCOUNT:ebs-encryption-by-default.
func collectEBSDefaults(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	c := client(t)
	enc, err := c.GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{})
	if err != nil {
		return err
	}
	cfg := ebsDefaults{EbsEncryptionByDefault: aws.ToBool(enc.EbsEncryptionByDefault), SseType: enc.SseType}
	key, keyErr := c.GetEbsDefaultKmsKeyId(ctx, &ec2.GetEbsDefaultKmsKeyIdInput{})
	if keyErr == nil {
		cfg.KmsKeyId = key.KmsKeyId
	}
	arn := t.ARN("ec2", t.Region, "ebs-encryption-by-default")
	r := newResource(t, TypeEBSEncryptionByDefault, arn, "ebs-encryption-by-default", nil, cfg, nil)
	if keyErr != nil {
		setErr(r, "KmsKeyId", keyErr)
	}
	if err := sink.PutResource(r); err != nil {
		return err
	}
	return relate(sink, arn, inventory.RelEncryptedBy, aws.ToString(cfg.KmsKeyId))
}
