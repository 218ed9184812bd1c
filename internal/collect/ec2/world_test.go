package ec2_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/mototest"
)

const mgmtAccount = "123456789012"

// world is what the tests built in one account and region.
type world struct {
	account, region string
	cfg             aws.Config

	vpc, pubSubnet, pubSubnet2, privSubnet string
	igw, nat, natEIP                       string
	rtPublic, rtPrivate                    string
	nacl                                   string
	prefixList                             string
	sgWeb, sgDB                            string
	profileARN                             string
	instPublic, instPrivate                string
	volume, snapshot, image                string
	eip                                    string
	flowLog, endpoint                      string
	launchTemplate, tgw, peering, peerVPC  string
}

// memberAccount creates the organization and one member account; it returns the member's id.
func memberAccount(t *testing.T, base aws.Config) string {
	t.Helper()
	ctx := context.Background()
	org := organizations.NewFromConfig(base)
	if _, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}); err != nil {
		t.Fatalf("CreateOrganization: %v", err)
	}
	out, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("workloads"), Email: aws.String("workloads@example.com")})
	if err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	id := aws.ToString(out.CreateAccountStatus.AccountId)
	if id == "" {
		t.Fatal("CreateAccount returned no account id")
	}
	return id
}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func tagSpec(rt types.ResourceType, name string) []types.TagSpecification {
	return []types.TagSpecification{{ResourceType: rt, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}, {Key: aws.String("env"), Value: aws.String("test")}}}}
}

// buildWorld creates a small but complete network and compute estate in cfg's account and region.
func buildWorld(t *testing.T, cfg aws.Config, account, region string) *world {
	t.Helper()
	ctx := context.Background()
	cfg = cfg.Copy()
	cfg.Region = region
	c := ec2.NewFromConfig(cfg)
	w := &world{account: account, region: region, cfg: cfg}
	azs := must[*ec2.DescribeAvailabilityZonesOutput](t, "DescribeAvailabilityZones")(c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{}))
	az1, az2 := aws.ToString(azs.AvailabilityZones[0].ZoneName), aws.ToString(azs.AvailabilityZones[1].ZoneName)

	w.vpc = aws.ToString(must[*ec2.CreateVpcOutput](t, "CreateVpc")(c.CreateVpc(ctx, &ec2.CreateVpcInput{
		CidrBlock: aws.String("10.20.0.0/16"), TagSpecifications: tagSpec(types.ResourceTypeVpc, "main-vpc")})).Vpc.VpcId)
	subnet := func(cidr, az, name string) string {
		return aws.ToString(must[*ec2.CreateSubnetOutput](t, "CreateSubnet")(c.CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId: aws.String(w.vpc), CidrBlock: aws.String(cidr), AvailabilityZone: aws.String(az),
			TagSpecifications: tagSpec(types.ResourceTypeSubnet, name)})).Subnet.SubnetId)
	}
	w.pubSubnet = subnet("10.20.1.0/24", az1, "public-a")
	w.pubSubnet2 = subnet("10.20.2.0/24", az2, "public-b")
	w.privSubnet = subnet("10.20.3.0/24", az1, "private-a")
	for _, s := range []string{w.pubSubnet, w.pubSubnet2} {
		must[*ec2.ModifySubnetAttributeOutput](t, "ModifySubnetAttribute")(c.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{
			SubnetId: aws.String(s), MapPublicIpOnLaunch: &types.AttributeBooleanValue{Value: aws.Bool(true)}}))
	}

	w.igw = aws.ToString(must[*ec2.CreateInternetGatewayOutput](t, "CreateInternetGateway")(c.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{
		TagSpecifications: tagSpec(types.ResourceTypeInternetGateway, "main-igw")})).InternetGateway.InternetGatewayId)
	must[*ec2.AttachInternetGatewayOutput](t, "AttachInternetGateway")(c.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{
		InternetGatewayId: aws.String(w.igw), VpcId: aws.String(w.vpc)}))
	w.rtPublic = aws.ToString(must[*ec2.CreateRouteTableOutput](t, "CreateRouteTable")(c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{
		VpcId: aws.String(w.vpc), TagSpecifications: tagSpec(types.ResourceTypeRouteTable, "public-rt")})).RouteTable.RouteTableId)
	must[*ec2.CreateRouteOutput](t, "CreateRoute igw")(c.CreateRoute(ctx, &ec2.CreateRouteInput{
		RouteTableId: aws.String(w.rtPublic), DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String(w.igw)}))
	for _, s := range []string{w.pubSubnet, w.pubSubnet2} {
		must[*ec2.AssociateRouteTableOutput](t, "AssociateRouteTable")(c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{
			RouteTableId: aws.String(w.rtPublic), SubnetId: aws.String(s)}))
	}

	alloc := must[*ec2.AllocateAddressOutput](t, "AllocateAddress")(c.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: types.DomainTypeVpc}))
	w.natEIP = aws.ToString(alloc.AllocationId)
	w.nat = aws.ToString(must[*ec2.CreateNatGatewayOutput](t, "CreateNatGateway")(c.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{
		SubnetId: aws.String(w.pubSubnet), AllocationId: alloc.AllocationId,
		TagSpecifications: tagSpec(types.ResourceTypeNatgateway, "main-nat")})).NatGateway.NatGatewayId)
	w.rtPrivate = aws.ToString(must[*ec2.CreateRouteTableOutput](t, "CreateRouteTable")(c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{
		VpcId: aws.String(w.vpc), TagSpecifications: tagSpec(types.ResourceTypeRouteTable, "private-rt")})).RouteTable.RouteTableId)
	must[*ec2.CreateRouteOutput](t, "CreateRoute nat")(c.CreateRoute(ctx, &ec2.CreateRouteInput{
		RouteTableId: aws.String(w.rtPrivate), DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String(w.nat)}))
	must[*ec2.AssociateRouteTableOutput](t, "AssociateRouteTable")(c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{
		RouteTableId: aws.String(w.rtPrivate), SubnetId: aws.String(w.privSubnet)}))

	w.nacl = aws.ToString(must[*ec2.CreateNetworkAclOutput](t, "CreateNetworkAcl")(c.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{
		VpcId: aws.String(w.vpc), TagSpecifications: tagSpec(types.ResourceTypeNetworkAcl, "public-acl")})).NetworkAcl.NetworkAclId)
	for i, e := range []struct {
		egress bool
		port   int32
		cidr   string
		action types.RuleAction
	}{{false, 22, "0.0.0.0/0", types.RuleActionAllow}, {false, 3389, "0.0.0.0/0", types.RuleActionDeny}, {true, 443, "0.0.0.0/0", types.RuleActionAllow}} {
		must[*ec2.CreateNetworkAclEntryOutput](t, "CreateNetworkAclEntry")(c.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{
			NetworkAclId: aws.String(w.nacl), RuleNumber: aws.Int32(int32(100 + 10*i)), Protocol: aws.String("6"),
			RuleAction: e.action, Egress: aws.Bool(e.egress), CidrBlock: aws.String(e.cidr),
			PortRange: &types.PortRange{From: aws.Int32(e.port), To: aws.Int32(e.port)}}))
	}
	// Move the public subnet from the VPC's default ACL to the new one.
	acls := must[*ec2.DescribeNetworkAclsOutput](t, "DescribeNetworkAcls")(c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{
		Filters: []types.Filter{{Name: aws.String("association.subnet-id"), Values: []string{w.pubSubnet}}}}))
	var assoc string
	for _, a := range acls.NetworkAcls {
		for _, as := range a.Associations {
			if aws.ToString(as.SubnetId) == w.pubSubnet {
				assoc = aws.ToString(as.NetworkAclAssociationId)
			}
		}
	}
	if assoc == "" {
		t.Fatal("no default network ACL association for the public subnet")
	}
	must[*ec2.ReplaceNetworkAclAssociationOutput](t, "ReplaceNetworkAclAssociation")(c.ReplaceNetworkAclAssociation(ctx, &ec2.ReplaceNetworkAclAssociationInput{
		AssociationId: aws.String(assoc), NetworkAclId: aws.String(w.nacl)}))

	w.prefixList = aws.ToString(must[*ec2.CreateManagedPrefixListOutput](t, "CreateManagedPrefixList")(c.CreateManagedPrefixList(ctx, &ec2.CreateManagedPrefixListInput{
		PrefixListName: aws.String("office"), AddressFamily: aws.String("IPv4"), MaxEntries: aws.Int32(5),
		Entries: []types.AddPrefixListEntry{{Cidr: aws.String("192.0.2.0/24"), Description: aws.String("HQ")}}})).PrefixList.PrefixListId)

	w.sgWeb = aws.ToString(must[*ec2.CreateSecurityGroupOutput](t, "CreateSecurityGroup")(c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("web"), Description: aws.String("web tier"), VpcId: aws.String(w.vpc)})).GroupId)
	w.sgDB = aws.ToString(must[*ec2.CreateSecurityGroupOutput](t, "CreateSecurityGroup")(c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("db"), Description: aws.String("db tier"), VpcId: aws.String(w.vpc)})).GroupId)
	tcp := func(port int32) types.IpPermission {
		return types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port)}
	}
	ssh, https, http, pg := tcp(22), tcp(443), tcp(80), tcp(5432)
	ssh.IpRanges = []types.IpRange{{CidrIp: aws.String("203.0.113.7/32"), Description: aws.String("admin")}}
	https.IpRanges = []types.IpRange{{CidrIp: aws.String("198.51.100.0/24")}}
	http.IpRanges = []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}
	http.Ipv6Ranges = []types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}
	pg.PrefixListIds = []types.PrefixListId{{PrefixListId: aws.String(w.prefixList)}}
	pg.UserIdGroupPairs = []types.UserIdGroupPair{{GroupId: aws.String(w.sgWeb)}}
	must[*ec2.AuthorizeSecurityGroupIngressOutput](t, "AuthorizeSecurityGroupIngress web")(c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(w.sgWeb), IpPermissions: []types.IpPermission{ssh, https, http}}))
	must[*ec2.AuthorizeSecurityGroupIngressOutput](t, "AuthorizeSecurityGroupIngress db")(c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(w.sgDB), IpPermissions: []types.IpPermission{pg}}))

	// IAM is global: the instance profile is created once per account.
	ic := iam.NewFromConfig(cfg)
	profileName := "app-" + region
	prof := must[*iam.CreateInstanceProfileOutput](t, "CreateInstanceProfile")(ic.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(profileName)}))
	w.profileARN = aws.ToString(prof.InstanceProfile.Arn)

	amis := must[*ec2.DescribeImagesOutput](t, "DescribeImages")(c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}}))
	if len(amis.Images) == 0 {
		t.Fatal("no amazon AMIs in moto")
	}
	baseAMI := amis.Images[0].ImageId
	pub := must[*ec2.RunInstancesOutput](t, "RunInstances public")(c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: baseAMI, InstanceType: types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		MetadataOptions:    &types.InstanceMetadataOptionsRequest{HttpTokens: types.HttpTokensStateOptional, HttpEndpoint: types.InstanceMetadataEndpointStateEnabled},
		IamInstanceProfile: &types.IamInstanceProfileSpecification{Arn: aws.String(w.profileARN)},
		NetworkInterfaces: []types.InstanceNetworkInterfaceSpecification{{
			DeviceIndex: aws.Int32(0), SubnetId: aws.String(w.pubSubnet), Groups: []string{w.sgWeb}, AssociatePublicIpAddress: aws.Bool(true)}},
		TagSpecifications: tagSpec(types.ResourceTypeInstance, "web-1"),
	}))
	w.instPublic = aws.ToString(pub.Instances[0].InstanceId)
	priv := must[*ec2.RunInstancesOutput](t, "RunInstances private")(c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: baseAMI, InstanceType: types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		MetadataOptions: &types.InstanceMetadataOptionsRequest{HttpTokens: types.HttpTokensStateRequired},
		SubnetId:        aws.String(w.privSubnet), SecurityGroupIds: []string{w.sgDB},
		TagSpecifications: tagSpec(types.ResourceTypeInstance, "db-1"),
	}))
	w.instPrivate = aws.ToString(priv.Instances[0].InstanceId)

	eip := must[*ec2.AllocateAddressOutput](t, "AllocateAddress")(c.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: types.DomainTypeVpc}))
	w.eip = aws.ToString(eip.AllocationId)
	must[*ec2.AssociateAddressOutput](t, "AssociateAddress")(c.AssociateAddress(ctx, &ec2.AssociateAddressInput{
		AllocationId: eip.AllocationId, InstanceId: aws.String(w.instPrivate)}))

	w.volume = aws.ToString(must[*ec2.CreateVolumeOutput](t, "CreateVolume")(c.CreateVolume(ctx, &ec2.CreateVolumeInput{
		AvailabilityZone: aws.String(az1), Size: aws.Int32(8), TagSpecifications: tagSpec(types.ResourceTypeVolume, "data")})).VolumeId)
	must[*ec2.AttachVolumeOutput](t, "AttachVolume")(c.AttachVolume(ctx, &ec2.AttachVolumeInput{
		VolumeId: aws.String(w.volume), InstanceId: aws.String(w.instPrivate), Device: aws.String("/dev/sdf")}))
	w.snapshot = aws.ToString(must[*ec2.CreateSnapshotOutput](t, "CreateSnapshot")(c.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{
		VolumeId: aws.String(w.volume), Description: aws.String("nightly")})).SnapshotId)
	must[*ec2.ModifySnapshotAttributeOutput](t, "ModifySnapshotAttribute")(c.ModifySnapshotAttribute(ctx, &ec2.ModifySnapshotAttributeInput{
		SnapshotId: aws.String(w.snapshot), Attribute: types.SnapshotAttributeNameCreateVolumePermission,
		OperationType: types.OperationTypeAdd, GroupNames: []string{"all"}}))
	w.image = aws.ToString(must[*ec2.CreateImageOutput](t, "CreateImage")(c.CreateImage(ctx, &ec2.CreateImageInput{
		InstanceId: aws.String(w.instPublic), Name: aws.String("golden-" + region)})).ImageId)

	fl := must[*ec2.CreateFlowLogsOutput](t, "CreateFlowLogs")(c.CreateFlowLogs(ctx, &ec2.CreateFlowLogsInput{
		ResourceIds: []string{w.vpc}, ResourceType: types.FlowLogsResourceTypeVpc, TrafficType: types.TrafficTypeAll,
		LogGroupName:             aws.String("vpc-flow-logs"),
		DeliverLogsPermissionArn: aws.String(fmt.Sprintf("arn:aws:iam::%s:role/flow-logs", account))}))
	if len(fl.FlowLogIds) != 1 {
		t.Fatalf("CreateFlowLogs: %+v", fl.Unsuccessful)
	}
	w.flowLog = fl.FlowLogIds[0]
	w.endpoint = aws.ToString(must[*ec2.CreateVpcEndpointOutput](t, "CreateVpcEndpoint")(c.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{
		VpcId: aws.String(w.vpc), ServiceName: aws.String("com.amazonaws." + region + ".s3"), VpcEndpointType: types.VpcEndpointTypeGateway,
		RouteTableIds: []string{w.rtPrivate}})).VpcEndpoint.VpcEndpointId)

	// Version 1 (the default) allows IMDSv1 and public IPs; version 2 (latest) requires tokens.
	w.launchTemplate = aws.ToString(must[*ec2.CreateLaunchTemplateOutput](t, "CreateLaunchTemplate")(c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("web-" + region),
		LaunchTemplateData: &types.RequestLaunchTemplateData{
			MetadataOptions:   &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: types.LaunchTemplateHttpTokensStateOptional},
			NetworkInterfaces: []types.LaunchTemplateInstanceNetworkInterfaceSpecificationRequest{{DeviceIndex: aws.Int32(0), AssociatePublicIpAddress: aws.Bool(true)}},
		}})).LaunchTemplate.LaunchTemplateId)
	must[*ec2.CreateLaunchTemplateVersionOutput](t, "CreateLaunchTemplateVersion")(c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId: aws.String(w.launchTemplate),
		LaunchTemplateData: &types.RequestLaunchTemplateData{
			MetadataOptions: &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: types.LaunchTemplateHttpTokensStateRequired}}}))
	w.tgw = aws.ToString(must[*ec2.CreateTransitGatewayOutput](t, "CreateTransitGateway")(c.CreateTransitGateway(ctx, &ec2.CreateTransitGatewayInput{
		Description: aws.String("core"), Options: &types.TransitGatewayRequestOptions{AutoAcceptSharedAttachments: types.AutoAcceptSharedAttachmentsValueEnable}})).TransitGateway.TransitGatewayId)
	w.peerVPC = aws.ToString(must[*ec2.CreateVpcOutput](t, "CreateVpc peer")(c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.99.0.0/16")})).Vpc.VpcId)
	w.peering = aws.ToString(must[*ec2.CreateVpcPeeringConnectionOutput](t, "CreateVpcPeeringConnection")(c.CreateVpcPeeringConnection(ctx, &ec2.CreateVpcPeeringConnectionInput{
		VpcId: aws.String(w.vpc), PeerVpcId: aws.String(w.peerVPC)})).VpcPeeringConnection.VpcPeeringConnectionId)
	return w
}

// estate starts moto, creates a member account and builds a world in both accounts and two
// regions. The member account's config is the assumed audit role's.
type estate struct {
	srv    *mototest.Server
	worlds []*world
}

func newEstate(t *testing.T) *estate {
	t.Helper()
	srv := mototest.New(t)
	base := srv.Config(t, "us-east-1")
	member := memberAccount(t, base)
	memberCfg := awsx.AssumeConfig(base, mgmtAccount, member, awsx.RoleOptions{RoleName: "OrganizationAccountAccessRole"})
	e := &estate{srv: srv}
	for _, acct := range []struct {
		id  string
		cfg aws.Config
	}{{mgmtAccount, base}, {member, memberCfg}} {
		for _, region := range []string{"us-east-1", "eu-west-1"} {
			e.worlds = append(e.worlds, buildWorld(t, acct.cfg, acct.id, region))
		}
	}
	// Encryption by default is on in the member's eu-west-1 only.
	last := e.worlds[3]
	if _, err := ec2.NewFromConfig(last.cfg).EnableEbsEncryptionByDefault(context.Background(), &ec2.EnableEbsEncryptionByDefaultInput{}); err != nil {
		t.Fatalf("EnableEbsEncryptionByDefault: %v", err)
	}
	return e
}
