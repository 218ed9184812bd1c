package demo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// seedNetwork builds the prod VPC (a public subnet routed to an internet gateway, a private one
// routed to a NAT gateway), security groups open to the world on 22 and 3389, one allowing a
// single external address, an internet-facing IMDSv1 instance whose role is an administrator,
// and a private instance; staging gets a world-open SSH group in the second region.
func (o *Org) seedNetwork(ctx context.Context, base aws.Config) error {
	prod := o.Config(base, "prod", Regions[0])
	ec := ec2.NewFromConfig(prod)
	vpc, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.10.0.0/16"), TagSpecifications: tagSpec(ec2types.ResourceTypeVpc, "prod-vpc")})
	if err != nil {
		return err
	}
	vpcID := vpc.Vpc.VpcId
	pub, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpcID, CidrBlock: aws.String("10.10.1.0/24"), AvailabilityZone: aws.String("us-east-1a"), TagSpecifications: tagSpec(ec2types.ResourceTypeSubnet, "prod-public")})
	if err != nil {
		return err
	}
	priv, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpcID, CidrBlock: aws.String("10.10.2.0/24"), AvailabilityZone: aws.String("us-east-1b"), TagSpecifications: tagSpec(ec2types.ResourceTypeSubnet, "prod-private")})
	if err != nil {
		return err
	}
	igw, err := ec.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{TagSpecifications: tagSpec(ec2types.ResourceTypeInternetGateway, "prod-igw")})
	if err != nil {
		return err
	}
	if _, err := ec.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGateway.InternetGatewayId, VpcId: vpcID}); err != nil {
		return err
	}
	pubRT, err := ec.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: vpcID, TagSpecifications: tagSpec(ec2types.ResourceTypeRouteTable, "prod-public-rt")})
	if err != nil {
		return err
	}
	if _, err := ec.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: pubRT.RouteTable.RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: igw.InternetGateway.InternetGatewayId}); err != nil {
		return err
	}
	if _, err := ec.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: pubRT.RouteTable.RouteTableId, SubnetId: pub.Subnet.SubnetId}); err != nil {
		return err
	}
	eip, err := ec.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})
	if err != nil {
		return err
	}
	nat, err := ec.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: pub.Subnet.SubnetId, AllocationId: eip.AllocationId})
	if err != nil {
		return err
	}
	privRT, err := ec.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: vpcID, TagSpecifications: tagSpec(ec2types.ResourceTypeRouteTable, "prod-private-rt")})
	if err != nil {
		return err
	}
	if _, err := ec.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: privRT.RouteTable.RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: nat.NatGateway.NatGatewayId}); err != nil {
		return err
	}
	if _, err := ec.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: privRT.RouteTable.RouteTableId, SubnetId: priv.Subnet.SubnetId}); err != nil {
		return err
	}

	sshWorld, err := securityGroup(ctx, ec, vpcID, "ssh-from-anywhere", "SSH open to the world",
		ingress("tcp", 22, 22, "0.0.0.0/0", ""), ingress("tcp", 22, 22, "", "::/0"))
	if err != nil {
		return err
	}
	rdpWorld, err := securityGroup(ctx, ec, vpcID, "rdp-from-anywhere", "RDP open to the world", ingress("tcp", 3389, 3389, "0.0.0.0/0", ""))
	if err != nil {
		return err
	}
	contractor, err := securityGroup(ctx, ec, vpcID, "partner-access", "HTTPS for a partner that left", ingress("tcp", 443, 443, ExternalAddress+"/32", ""))
	if err != nil {
		return err
	}
	o.Planted["sg-ssh-world"] = sshWorld
	o.Planted["sg-rdp-world"] = rdpWorld
	o.Planted["sg-external-address"] = contractor

	profileName, err := adminInstanceProfile(ctx, iam.NewFromConfig(prod))
	if err != nil {
		return err
	}
	ami, err := anyAMI(ctx, ec)
	if err != nil {
		return err
	}
	web, err := ec.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String(ami), InstanceType: ec2types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		MetadataOptions:    &ec2types.InstanceMetadataOptionsRequest{HttpTokens: ec2types.HttpTokensStateOptional, HttpEndpoint: ec2types.InstanceMetadataEndpointStateEnabled},
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String(profileName)},
		NetworkInterfaces: []ec2types.InstanceNetworkInterfaceSpecification{{DeviceIndex: aws.Int32(0), SubnetId: pub.Subnet.SubnetId,
			AssociatePublicIpAddress: aws.Bool(true), Groups: []string{sshWorld, rdpWorld, contractor}}},
		TagSpecifications: tagSpec(ec2types.ResourceTypeInstance, "web-1", "DataClassification", "internal"),
	})
	if err != nil {
		return err
	}
	o.Planted["instance-imdsv1-public-admin"] = aws.ToString(web.Instances[0].InstanceId)
	app, err := ec.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String(ami), InstanceType: ec2types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		MetadataOptions: &ec2types.InstanceMetadataOptionsRequest{HttpTokens: ec2types.HttpTokensStateRequired},
		NetworkInterfaces: []ec2types.InstanceNetworkInterfaceSpecification{{DeviceIndex: aws.Int32(0), SubnetId: priv.Subnet.SubnetId,
			Groups: []string{sshWorld}}},
		TagSpecifications: tagSpec(ec2types.ResourceTypeInstance, "app-1"),
	})
	if err != nil {
		return err
	}
	o.Planted["instance-private"] = aws.ToString(app.Instances[0].InstanceId)
	if _, err := ec.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), Size: aws.Int32(8), Encrypted: aws.Bool(false),
		TagSpecifications: tagSpec(ec2types.ResourceTypeVolume, "unencrypted-data")}); err != nil {
		return err
	}

	// Staging, second region: another world-open SSH group in its default VPC.
	stg := ec2.NewFromConfig(o.Config(base, "staging", Regions[1]))
	vpcs, err := stg.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil {
		return err
	}
	if len(vpcs.Vpcs) == 0 {
		return fmt.Errorf("staging %s has no default VPC", Regions[1])
	}
	stgSG, err := securityGroup(ctx, stg, vpcs.Vpcs[0].VpcId, "bastion", "legacy bastion", ingress("tcp", 0, 65535, "0.0.0.0/0", ""))
	if err != nil {
		return err
	}
	o.Planted["sg-all-ports-world-staging"] = stgSG
	return nil
}

func tagSpec(rt ec2types.ResourceType, name string, kv ...string) []ec2types.TagSpecification {
	tags := []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}}
	for i := 0; i+1 < len(kv); i += 2 {
		tags = append(tags, ec2types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return []ec2types.TagSpecification{{ResourceType: rt, Tags: tags}}
}

func ingress(proto string, from, to int32, cidr4, cidr6 string) ec2types.IpPermission {
	p := ec2types.IpPermission{IpProtocol: aws.String(proto), FromPort: aws.Int32(from), ToPort: aws.Int32(to)}
	if cidr4 != "" {
		p.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(cidr4)}}
	}
	if cidr6 != "" {
		p.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: aws.String(cidr6)}}
	}
	return p
}

func securityGroup(ctx context.Context, ec *ec2.Client, vpcID *string, name, desc string, perms ...ec2types.IpPermission) (string, error) {
	sg, err := ec.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(desc), VpcId: vpcID,
		TagSpecifications: tagSpec(ec2types.ResourceTypeSecurityGroup, name)})
	if err != nil {
		return "", err
	}
	if _, err := ec.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: perms}); err != nil {
		return "", err
	}
	return aws.ToString(sg.GroupId), nil
}

func anyAMI(ctx context.Context, ec *ec2.Client) (string, error) {
	imgs, err := ec.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
	if err != nil {
		return "", err
	}
	if len(imgs.Images) == 0 {
		return "", fmt.Errorf("the emulator lists no Amazon AMI to launch")
	}
	return aws.ToString(imgs.Images[0].ImageId), nil
}

// adminInstanceProfile creates a role with AdministratorAccess behind an instance profile.
func adminInstanceProfile(ctx context.Context, ic *iam.Client) (string, error) {
	trust := mustJSON(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}}})
	if _, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("web-admin"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		return "", err
	}
	if _, err := ic.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("web-admin"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}); err != nil {
		return "", err
	}
	if _, err := ic.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("web-admin")}); err != nil {
		return "", err
	}
	if _, err := ic.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("web-admin"), RoleName: aws.String("web-admin")}); err != nil {
		return "", err
	}
	return "web-admin", nil
}
