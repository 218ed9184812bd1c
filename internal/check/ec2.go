package check

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/yagura-dev/yagura/internal/finding"
)

type ipPermission struct {
	IpProtocol       string
	FromPort, ToPort *int32
	IpRanges         []struct{ CidrIp string }
	Ipv6Ranges       []struct{ CidrIpv6 string }
	PrefixListIds    []struct{ PrefixListId string }
	UserIdGroupPairs []struct{ GroupId string }
}

// sgConfig is what the checks read of an AWS::EC2::SecurityGroup.
type sgConfig struct {
	GroupId, GroupName, VpcId string
	IpPermissions             []ipPermission
	IpPermissionsEgress       []ipPermission
}

type prefixListConfig struct {
	PrefixListId string
	Entries      []struct{ Cidr string }
}

// coversPort reports whether a rule admits traffic to port (protocol -1 admits every port).
func (p *ipPermission) coversPort(port int32) bool {
	switch strings.ToLower(p.IpProtocol) {
	case "-1", "all":
		return true
	case "tcp", "6", "udp", "17":
		if p.FromPort == nil || p.ToPort == nil {
			return true
		}
		if *p.FromPort == -1 || *p.FromPort == 0 && *p.ToPort == 65535 {
			return true
		}
		return *p.FromPort <= port && port <= *p.ToPort
	}
	return false
}

func (p *ipPermission) portText() string {
	if strings.ToLower(p.IpProtocol) == "-1" {
		return "all traffic"
	}
	if p.FromPort == nil || p.ToPort == nil {
		return p.IpProtocol + " all ports"
	}
	if *p.FromPort == *p.ToPort {
		return fmt.Sprintf("%s %d", p.IpProtocol, *p.FromPort)
	}
	return fmt.Sprintf("%s %d-%d", p.IpProtocol, *p.FromPort, *p.ToPort)
}

func isWorld4(c string) bool { return strings.HasSuffix(c, "/0") && strings.Contains(c, ".") }
func isWorld6(c string) bool { return strings.HasSuffix(c, "/0") && strings.Contains(c, ":") }

// worldRule is one ingress rule open to the internet, as evidence.
type worldRule struct {
	Source string `json:"source"`
	Ports  string `json:"ports"`
	Port   int32  `json:"matched_port,omitempty"`
}

// worldIngress lists rules that admit traffic to one of ports from anywhere (IPv4 and/or IPv6),
// including rules that reference a prefix list containing 0.0.0.0/0 or ::/0. ports nil = any.
//
// A rule that references a prefix list which could not be read makes the answer unknown: the
// problem is returned instead of a guess.
func worldIngress(e *Env, r *Res, sg *sgConfig, ports []int32, v4, v6 bool) ([]worldRule, string) {
	var out []worldRule
	problem := ""
	for i := range sg.IpPermissions {
		p := &sg.IpPermissions[i]
		var matched int32 = -1
		if ports == nil {
			matched = 0
		} else {
			for _, port := range ports {
				if p.coversPort(port) {
					matched = port
					break
				}
			}
		}
		if matched < 0 {
			continue
		}
		var sources []string
		if v4 {
			for _, rg := range p.IpRanges {
				if isWorld4(rg.CidrIp) {
					sources = append(sources, rg.CidrIp)
				}
			}
		}
		if v6 {
			for _, rg := range p.Ipv6Ranges {
				if isWorld6(rg.CidrIpv6) {
					sources = append(sources, rg.CidrIpv6)
				}
			}
		}
		for _, pl := range p.PrefixListIds {
			found := false
			// AWS-managed lists may be recorded under the owner "aws" rather than the account.
			lists := append(append([]*Res(nil), e.List(TypePrefixList, r.AccountID, r.Region)...), e.List(TypePrefixList, "aws", r.Region)...)
			for _, x := range lists {
				c, err := decode[prefixListConfig](x)
				if err != nil || c.PrefixListId != pl.PrefixListId {
					continue
				}
				found = true
				if _, reason := x.ErrorOf("Entries"); reason != "" {
					problem = "entries of prefix list " + pl.PrefixListId + " unreadable: " + reason
				}
				for _, en := range c.Entries {
					if v4 && isWorld4(en.Cidr) || v6 && isWorld6(en.Cidr) {
						sources = append(sources, pl.PrefixListId+" ("+en.Cidr+")")
					}
				}
			}
			if !found {
				if p := e.InputProblem(TypePrefixList, r.AccountID, r.Region); p != "" {
					problem = "rule references prefix list " + pl.PrefixListId + ", which could not be read: " + p
				}
			}
		}
		for _, s := range sources {
			out = append(out, worldRule{Source: s, Ports: p.portText(), Port: matched})
		}
	}
	return out, problem
}

func sgCheck(id, title string, controls []string, sev finding.Severity, ports []int32, v4, v6 bool, risk string) {
	Register(&Check{
		ID: id, Title: title, Severity: sev, ResourceType: TypeSecurityGroup, Controls: controls,
		Inputs: []string{TypePrefixList}, Risk: risk,
		Remediation: Remediation{
			CLI:     "aws ec2 revoke-security-group-ingress --group-id SG_ID --ip-permissions '[{\"IpProtocol\":\"tcp\",\"FromPort\":PORT,\"ToPort\":PORT,\"IpRanges\":[{\"CidrIp\":\"0.0.0.0/0\"}]}]'",
			Console: "EC2 > Security Groups > group > Inbound rules > Edit: restrict the source to known ranges or remove the rule",
			Doc:     "https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html"},
		Eval: func(e *Env, r *Res) Result {
			sg, err := decode[sgConfig](r)
			if err != nil {
				return Errorf("%v", err)
			}
			rules, problem := worldIngress(e, r, sg, ports, v4, v6)
			if len(rules) > 0 {
				return Fail(fmt.Sprintf("%s allows %s from %s", sg.GroupId, rules[0].Ports, rules[0].Source), map[string]any{"rules": rules})
			}
			if problem != "" {
				return Errorf("%s", problem)
			}
			return Pass("no matching ingress rule from the internet", nil)
		},
	})
}

// highRiskPorts are the ports FSBP EC2.19 names.
var highRiskPorts = []int32{20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432, 5500, 5601, 8080, 8088, 8888, 9200, 9300}

type naclEntry struct {
	CidrBlock, Ipv6CidrBlock string
	Egress                   bool
	PortRange                *struct{ From, To *int32 }
	Protocol                 string
	RuleAction               string
	RuleNumber               int32
}

type naclConfig struct {
	NetworkAclId string
	IsDefault    bool
	Entries      []naclEntry
	Associations []struct{ SubnetId string }
}

func (n *naclEntry) covers(port int32) bool {
	switch n.Protocol {
	case "-1":
		return true
	case "6", "17":
		if n.PortRange == nil || n.PortRange.From == nil || n.PortRange.To == nil {
			return true
		}
		return *n.PortRange.From <= port && port <= *n.PortRange.To
	}
	return false
}

type instanceConfig struct {
	InstanceId      string
	State           *struct{ Name string }
	PublicIpAddress *string
	MetadataOptions *struct {
		HttpTokens, HttpEndpoint string
	}
	NetworkInterfaces []struct{ NetworkInterfaceId string }
	// StateTransitionReason says when a stopped instance stopped (EC2.4).
	StateTransitionReason string
	VirtualizationType    string
}

func init() {
	admin := []int32{22, 3389}
	sgCheck("ec2.sg_ingress_ssh_world", "Security groups should not allow ingress from 0.0.0.0/0 or ::/0 to port 22",
		[]string{"fsbp:EC2.13"}, finding.High, []int32{22}, true, true, "SSH is exposed to brute force and exploits from the whole internet.")
	sgCheck("ec2.sg_ingress_rdp_world", "Security groups should not allow ingress from 0.0.0.0/0 or ::/0 to port 3389",
		[]string{"fsbp:EC2.14"}, finding.High, []int32{3389}, true, true, "RDP is exposed to brute force and exploits from the whole internet.")
	sgCheck("ec2.sg_ingress_admin_ports_ipv4", "Security groups should not allow ingress from 0.0.0.0/0 to remote server administration ports",
		[]string{"fsbp:EC2.53", "cis-aws-3.0:5.2"}, finding.High, admin, true, false, "Administration ports (22, 3389) reachable from any IPv4 address.")
	sgCheck("ec2.sg_ingress_admin_ports_ipv6", "Security groups should not allow ingress from ::/0 to remote server administration ports",
		[]string{"fsbp:EC2.54", "cis-aws-3.0:5.3"}, finding.High, admin, false, true, "Administration ports (22, 3389) reachable from any IPv6 address.")
	sgCheck("ec2.sg_ingress_high_risk_ports", "Security groups should not allow unrestricted access to ports with high risk",
		[]string{"fsbp:EC2.19"}, finding.Critical, highRiskPorts, true, true, "Databases, file sharing and admin services reachable from the internet.")

	Register(&Check{
		ID: "ec2.sg_ingress_only_authorized_ports", Title: "Security groups should only allow unrestricted incoming traffic for authorized ports (80, 443)",
		Severity: finding.High, ResourceType: TypeSecurityGroup, Controls: []string{"fsbp:EC2.18"}, Inputs: []string{TypePrefixList},
		Risk:        "Services other than web traffic are reachable from the internet.",
		Remediation: Remediation{Console: "EC2 > Security Groups > Inbound rules: limit 0.0.0.0/0 and ::/0 to ports 80 and 443", Doc: "https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html"},
		Eval: func(e *Env, r *Res) Result {
			sg, err := decode[sgConfig](r)
			if err != nil {
				return Errorf("%v", err)
			}
			var bad []worldRule
			rules, problem := worldIngress(e, r, sg, nil, true, true)
			for _, w := range rules {
				if w.Ports != "tcp 80" && w.Ports != "tcp 443" {
					bad = append(bad, w)
				}
			}
			if len(bad) > 0 {
				return Fail(fmt.Sprintf("%s allows %s from %s", sg.GroupId, bad[0].Ports, bad[0].Source), map[string]any{"rules": bad})
			}
			if problem != "" {
				return Errorf("%s", problem)
			}
			return Pass("internet ingress limited to ports 80 and 443", nil)
		},
	})
	Register(&Check{
		ID: "ec2.default_sg_no_traffic", Title: "VPC default security groups should not allow inbound or outbound traffic",
		Severity: finding.High, ResourceType: TypeSecurityGroup, Controls: []string{"fsbp:EC2.2", "cis-aws-3.0:5.4"},
		Risk:        "Resources launched without an explicit group silently get the default group's access.",
		Remediation: Remediation{Console: "VPC > Security groups > default > remove every inbound and outbound rule", CLI: "aws ec2 revoke-security-group-ingress / revoke-security-group-egress --group-id SG_ID --ip-permissions ...", Doc: "https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html"},
		Eval: func(e *Env, r *Res) Result {
			sg, err := decode[sgConfig](r)
			if err != nil {
				return Errorf("%v", err)
			}
			if sg.GroupName != "default" {
				return NA()
			}
			if n := len(sg.IpPermissions) + len(sg.IpPermissionsEgress); n > 0 {
				return Fail(fmt.Sprintf("default security group %s has %d inbound and %d outbound rules", sg.GroupId, len(sg.IpPermissions), len(sg.IpPermissionsEgress)),
					map[string]any{"IpPermissions": sg.IpPermissions, "IpPermissionsEgress": sg.IpPermissionsEgress})
			}
			return Pass("default security group has no rules", nil)
		},
	})
	Register(&Check{
		ID: "ec2.nacl_admin_ports_world", Title: "Network ACLs should not allow ingress from 0.0.0.0/0 or ::/0 to remote server administration ports",
		Severity: finding.Medium, ResourceType: TypeNetworkACL, Controls: []string{"fsbp:EC2.21", "cis-aws-3.0:5.1"},
		Risk:        "Administration ports are reachable from the internet at the subnet boundary.",
		Remediation: Remediation{CLI: "aws ec2 replace-network-acl-entry --network-acl-id ACL --ingress --rule-number N --protocol 6 --port-range From=22,To=22 --cidr-block 0.0.0.0/0 --rule-action deny", Console: "VPC > Network ACLs > Inbound rules", Doc: "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-network-acls.html"},
		Eval: func(e *Env, r *Res) Result {
			n, err := decode[naclConfig](r)
			if err != nil {
				return Errorf("%v", err)
			}
			var ingress []naclEntry
			for _, en := range n.Entries {
				if !en.Egress {
					ingress = append(ingress, en)
				}
			}
			sort.Slice(ingress, func(i, j int) bool { return ingress[i].RuleNumber < ingress[j].RuleNumber })
			var open []string
			for _, port := range []int32{22, 3389} {
				for _, fam := range []bool{false, true} {
					// NACL rules apply in order: the first rule covering the whole internet and the
					// port decides. Narrower rules neither expose nor protect against the world.
					for _, en := range ingress {
						cidr := en.CidrBlock
						if fam {
							cidr = en.Ipv6CidrBlock
						}
						if !strings.HasSuffix(cidr, "/0") || !en.covers(port) {
							continue
						}
						if en.RuleAction == "allow" {
							open = append(open, fmt.Sprintf("rule %d allows port %d from %s", en.RuleNumber, port, cidr))
						}
						break
					}
				}
			}
			if len(open) > 0 {
				return Fail(n.NetworkAclId+": "+open[0], map[string]any{"rules": open})
			}
			return Pass("no ingress to 22/3389 from the internet", nil)
		},
	})
	instanceCheck := func(id, title string, controls []string, sev finding.Severity, risk string, rem Remediation, f func(i *instanceConfig) Result) {
		Register(&Check{ID: id, Title: title, Severity: sev, ResourceType: TypeInstance, Controls: controls, Risk: risk, Remediation: rem,
			Eval: func(e *Env, r *Res) Result {
				i, err := decode[instanceConfig](r)
				if err != nil {
					return Errorf("%v", err)
				}
				if i.State != nil && i.State.Name == "terminated" {
					return NA()
				}
				return f(i)
			}})
	}
	instanceCheck("ec2.instance_imdsv2", "EC2 instances should use Instance Metadata Service Version 2 (IMDSv2)",
		[]string{"fsbp:EC2.8", "cis-aws-3.0:5.6"}, finding.High, "IMDSv1 lets SSRF bugs steal the instance role's credentials.",
		Remediation{CLI: "aws ec2 modify-instance-metadata-options --instance-id ID --http-tokens required --http-endpoint enabled", Console: "EC2 > Instances > Actions > Instance settings > Modify instance metadata options", Doc: "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html"},
		func(i *instanceConfig) Result {
			m := i.MetadataOptions
			if m == nil {
				return Errorf("MetadataOptions missing from the instance description")
			}
			if m.HttpTokens == "required" || m.HttpEndpoint == "disabled" {
				return Pass("IMDSv2 required", m)
			}
			return Fail("instance metadata allows IMDSv1 (HttpTokens "+m.HttpTokens+")", m)
		})
	instanceCheck("ec2.instance_no_public_ip", "EC2 instances should not have a public IPv4 address",
		[]string{"fsbp:EC2.9"}, finding.High, "The instance is directly addressable from the internet.",
		Remediation{Console: "Launch in a private subnet behind a load balancer; disassociate the public address", Doc: "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-instance-addressing.html"},
		func(i *instanceConfig) Result {
			if i.PublicIpAddress != nil && *i.PublicIpAddress != "" {
				return Fail("public IP "+*i.PublicIpAddress, map[string]any{"PublicIpAddress": *i.PublicIpAddress})
			}
			return Pass("no public IPv4 address", nil)
		})
	instanceCheck("ec2.instance_single_eni", "EC2 instances should not use multiple ENIs",
		[]string{"fsbp:EC2.17"}, finding.Low, "Multiple interfaces can bridge subnets and bypass network controls.",
		Remediation{CLI: "aws ec2 detach-network-interface --attachment-id ID", Doc: "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-eni.html"},
		func(i *instanceConfig) Result {
			if len(i.NetworkInterfaces) > 1 {
				return Fail(fmt.Sprintf("%d network interfaces attached", len(i.NetworkInterfaces)), nil)
			}
			return Pass("at most one network interface", nil)
		})

	Register(&Check{
		ID: "ec2.ebs_default_encryption", Subject: "arn:{partition}:ec2:{region}:{account}:ebs-encryption-by-default", Title: "EBS default encryption should be enabled",
		Severity: finding.Medium, ResourceType: TypeEBSDefault, Scope: PerRegion, Inputs: []string{TypeEBSDefault},
		Controls: []string{"fsbp:EC2.7", "cis-aws-3.0:2.2.1"}, Risk: "New volumes and snapshots may be created unencrypted.",
		Remediation: Remediation{CLI: "aws ec2 enable-ebs-encryption-by-default --region REGION", Console: "EC2 > Settings (Data protection and security) > EBS encryption > Always encrypt new EBS volumes", Doc: "https://docs.aws.amazon.com/ebs/latest/userguide/encryption-by-default.html"},
		EvalScope: func(e *Env, u Unit) Result {
			r := e.One(TypeEBSDefault, u.Account, u.Region)
			if r == nil {
				return Errorf("EBS encryption-by-default setting not in the inventory")
			}
			c, err := decode[struct{ EbsEncryptionByDefault bool }](r)
			if err != nil {
				return Errorf("%v", err)
			}
			res := Fail("EBS encryption by default is off in "+u.Region, c)
			if c.EbsEncryptionByDefault {
				res = Pass("EBS encryption by default is on", c)
			}
			res.ARN, res.Type = r.ARN, r.Type
			return res
		},
	})
	Register(&Check{
		ID: "ec2.volume_encrypted", Title: "Attached EBS volumes should be encrypted at rest",
		Severity: finding.Medium, ResourceType: TypeVolume, Controls: []string{"fsbp:EC2.3"},
		Risk:        "Data on the volume and its snapshots is stored unencrypted.",
		Remediation: Remediation{Console: "Create an encrypted snapshot copy and restore the volume from it", Doc: "https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption.html"},
		Eval: func(e *Env, r *Res) Result {
			v, err := decode[struct {
				Encrypted   bool
				Attachments []struct{ InstanceId string }
			}](r)
			if err != nil {
				return Errorf("%v", err)
			}
			if len(v.Attachments) == 0 {
				return NA()
			}
			if v.Encrypted {
				return Pass("volume encrypted", nil)
			}
			return Fail("attached volume is not encrypted", v)
		},
	})
	Register(&Check{
		ID: "ec2.snapshot_not_public", Title: "EBS snapshots should not be publicly restorable",
		Severity: finding.Critical, ResourceType: TypeSnapshot, Controls: []string{"fsbp:EC2.1"}, Needs: []string{"Public"},
		Risk:        "Anyone can create a volume from the snapshot and read its data.",
		Remediation: Remediation{CLI: "aws ec2 modify-snapshot-attribute --snapshot-id ID --attribute createVolumePermission --operation-type remove --group-names all", Console: "EC2 > Snapshots > Actions > Modify permissions > Private", Doc: "https://docs.aws.amazon.com/ebs/latest/userguide/ebs-modifying-snapshot-permissions.html"},
		Eval: func(e *Env, r *Res) Result {
			s, err := decode[struct{ Public *bool }](r)
			if err != nil {
				return Errorf("%v", err)
			}
			if s.Public == nil {
				return Errorf("snapshot permissions were not read")
			}
			if *s.Public {
				return Fail("snapshot is restorable by anyone", map[string]any{"createVolumePermission": "all"})
			}
			return Pass("snapshot is private", nil)
		},
	})
	Register(&Check{
		ID: "ec2.ami_not_public", Title: "AMIs owned by the account should not be public",
		Severity: finding.High, ResourceType: TypeImage,
		Risk:        "Anyone can launch the image and read what was baked into it.",
		Remediation: Remediation{CLI: "aws ec2 modify-image-attribute --image-id AMI --launch-permission '{\"Remove\":[{\"Group\":\"all\"}]}'", Doc: "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/sharingamis-intro.html"},
		Eval: func(e *Env, r *Res) Result {
			im, err := decode[struct {
				Public  bool
				OwnerId string
			}](r)
			if err != nil {
				return Errorf("%v", err)
			}
			if im.OwnerId != "" && im.OwnerId != r.AccountID {
				return NA()
			}
			if im.Public {
				return Fail("image is public", nil)
			}
			return Pass("image is private", nil)
		},
	})
	Register(&Check{
		ID: "ec2.vpc_flow_logs", Title: "VPC flow logging should be enabled in all VPCs",
		Severity: finding.Medium, ResourceType: TypeVPC, Controls: []string{"fsbp:EC2.6", "cis-aws-3.0:3.7"}, Inputs: []string{TypeFlowLog},
		Risk:        "Network traffic of the VPC leaves no record for investigations.",
		Remediation: Remediation{CLI: "aws ec2 create-flow-logs --resource-type VPC --resource-ids VPC_ID --traffic-type REJECT --log-destination-type s3 --log-destination arn:aws:s3:::BUCKET", Console: "VPC > Your VPCs > Flow logs > Create flow log", Doc: "https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs.html"},
		Eval: func(e *Env, r *Res) Result {
			if p := e.InputProblem(TypeFlowLog, r.AccountID, r.Region); p != "" {
				return Errorf("flow logs unknown: %s", p)
			}
			v, err := decode[struct{ VpcId string }](r)
			if err != nil {
				return Errorf("%v", err)
			}
			for _, fl := range e.List(TypeFlowLog, r.AccountID, r.Region) {
				c, err := decode[struct{ ResourceId, FlowLogStatus string }](fl)
				if err == nil && c.ResourceId == v.VpcId && (c.FlowLogStatus == "" || c.FlowLogStatus == "ACTIVE") {
					return Pass("flow log "+fl.Name+" is active", nil)
				}
			}
			return Fail("no active flow log for "+v.VpcId, nil)
		},
	})
	Register(&Check{
		ID: "ec2.subnet_no_auto_public_ip", Title: "VPC subnets should not automatically assign public IP addresses",
		Severity: finding.Medium, ResourceType: TypeSubnet, Controls: []string{"fsbp:EC2.15"},
		Risk:        "Instances launched here get internet-addressable IPs by default.",
		Remediation: Remediation{CLI: "aws ec2 modify-subnet-attribute --subnet-id ID --no-map-public-ip-on-launch", Doc: "https://docs.aws.amazon.com/vpc/latest/userguide/subnet-public-ip.html"},
		Eval: func(e *Env, r *Res) Result {
			s, err := decode[struct{ MapPublicIpOnLaunch bool }](r)
			if err != nil {
				return Errorf("%v", err)
			}
			if s.MapPublicIpOnLaunch {
				return Fail("MapPublicIpOnLaunch is true", nil)
			}
			return Pass("no automatic public IPs", nil)
		},
	})
	Register(&Check{
		ID: "ec2.nacl_unused", Title: "Unused network ACLs should be removed",
		Severity: finding.Low, ResourceType: TypeNetworkACL, Controls: []string{"fsbp:EC2.16"},
		Risk:        "Stale ACLs confuse reviews and may be attached later with outdated rules.",
		Remediation: Remediation{CLI: "aws ec2 delete-network-acl --network-acl-id ACL", Doc: "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-network-acls.html"},
		Eval: func(e *Env, r *Res) Result {
			n, err := decode[naclConfig](r)
			if err != nil {
				return Errorf("%v", err)
			}
			if n.IsDefault || len(n.Associations) > 0 {
				return Pass(strconv.Itoa(len(n.Associations))+" subnet associations", nil)
			}
			return Fail("network ACL is not associated with any subnet", nil)
		},
	})
}
