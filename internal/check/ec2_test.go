package check

import (
	"testing"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/store"
)

func sgRes(ingress string) func(id string, more ...string) func(t *testing.T) Result {
	return func(id string, more ...string) func(t *testing.T) Result {
		return func(t *testing.T) Result {
			cfg := `{"GroupId":"sg-1","GroupName":"web","VpcId":"vpc-1","IpPermissions":[` + ingress + `],"IpPermissionsEgress":[]}`
			e := newTestEnv(okCoverage(), res(TypePrefixList, "arn:aws:ec2:us-east-1:111122223333:prefix-list/pl-world",
				`{"PrefixListId":"pl-world","Entries":[{"Cidr":"0.0.0.0/0"}]}`, nil))
			return evalOne(t, id, e, res(TypeSecurityGroup, "arn:aws:ec2:us-east-1:111122223333:security-group/sg-1", cfg, nil))
		}
	}
}

func TestSecurityGroups(t *testing.T) {
	ssh4 := sgRes(`{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}`)
	ssh6 := sgRes(`{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"Ipv6Ranges":[{"CidrIpv6":"::/0"}]}`)
	rangeWith := sgRes(`{"IpProtocol":"tcp","FromPort":0,"ToPort":1024,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}`)
	rangeRDP := sgRes(`{"IpProtocol":"tcp","FromPort":3000,"ToPort":4000,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}`)
	all := sgRes(`{"IpProtocol":"-1","IpRanges":[{"CidrIp":"0.0.0.0/0"}]}`)
	narrow := sgRes(`{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"IpRanges":[{"CidrIp":"203.0.113.0/24"}]}`)
	prefix := sgRes(`{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"PrefixListIds":[{"PrefixListId":"pl-world"}]}`)
	web := sgRes(`{"IpProtocol":"tcp","FromPort":443,"ToPort":443,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}`)
	udp := sgRes(`{"IpProtocol":"udp","FromPort":53,"ToPort":53,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}`)
	runCases(t, []tcase{
		{"ssh ipv4", finding.Fail, "0.0.0.0/0", ssh4("ec2.sg_ingress_ssh_world")},
		{"ssh ipv6", finding.Fail, "::/0", ssh6("ec2.sg_ingress_ssh_world")},
		{"ssh ipv6 not in cis 5.2", finding.Pass, "", ssh6("ec2.sg_ingress_admin_ports_ipv4")},
		{"ssh ipv6 in cis 5.3", finding.Fail, "", ssh6("ec2.sg_ingress_admin_ports_ipv6")},
		{"range containing 22", finding.Fail, "0-1024", rangeWith("ec2.sg_ingress_admin_ports_ipv4")},
		{"range containing 3389", finding.Fail, "", rangeRDP("ec2.sg_ingress_rdp_world")},
		{"range without 22", finding.Pass, "", rangeRDP("ec2.sg_ingress_ssh_world")},
		{"protocol -1", finding.Fail, "all traffic", all("ec2.sg_ingress_ssh_world")},
		{"protocol -1 high risk", finding.Fail, "", all("ec2.sg_ingress_high_risk_ports")},
		{"narrow source", finding.Pass, "", narrow("ec2.sg_ingress_ssh_world")},
		{"prefix list with world", finding.Fail, "pl-world", prefix("ec2.sg_ingress_ssh_world")},
		{"https only authorized", finding.Pass, "", web("ec2.sg_ingress_only_authorized_ports")},
		{"udp 53 unauthorized", finding.Fail, "", udp("ec2.sg_ingress_only_authorized_ports")},
		{"udp 53 not ssh", finding.Pass, "", udp("ec2.sg_ingress_ssh_world")},
		{"prefix lists unreadable", finding.Error, "pl-other", func(t *testing.T) Result {
			cfg := `{"GroupId":"sg-1","IpPermissions":[{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"PrefixListIds":[{"PrefixListId":"pl-other"}]}]}`
			e := newTestEnv(withCoverage(okCoverage(), TypePrefixList, store.CoverageDenied, "AccessDenied"))
			return evalOne(t, "ec2.sg_ingress_ssh_world", e, res(TypeSecurityGroup, "arn:aws:ec2:us-east-1:111122223333:security-group/sg-1", cfg, nil))
		}},
	})
}

func TestDefaultSGAndNACL(t *testing.T) {
	cov := okCoverage()
	sg := func(cfg string) func(t *testing.T) Result {
		return func(t *testing.T) Result {
			return evalOne(t, "ec2.default_sg_no_traffic", newTestEnv(cov), res(TypeSecurityGroup, "arn:aws:ec2:us-east-1:111122223333:security-group/sg-d", cfg, nil))
		}
	}
	nacl := func(entries string) func(t *testing.T) Result {
		return func(t *testing.T) Result {
			return evalOne(t, "ec2.nacl_admin_ports_world", newTestEnv(cov), res(TypeNetworkACL, "arn:aws:ec2:us-east-1:111122223333:network-acl/acl-1",
				`{"NetworkAclId":"acl-1","Entries":[`+entries+`]}`, nil))
		}
	}
	runCases(t, []tcase{
		{"default with rules", finding.Fail, "", sg(`{"GroupId":"sg-d","GroupName":"default","IpPermissions":[{"IpProtocol":"-1","UserIdGroupPairs":[{"GroupId":"sg-d"}]}],"IpPermissionsEgress":[]}`)},
		{"default egress only", finding.Fail, "", sg(`{"GroupId":"sg-d","GroupName":"default","IpPermissions":[],"IpPermissionsEgress":[{"IpProtocol":"-1","IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}`)},
		{"default empty", finding.Pass, "", sg(`{"GroupId":"sg-d","GroupName":"default","IpPermissions":[],"IpPermissionsEgress":[]}`)},
		{"not default: no result", "", "", sg(`{"GroupId":"sg-d","GroupName":"app","IpPermissions":[{"IpProtocol":"-1"}]}`)},
		{"nacl allow all", finding.Fail, "", nacl(`{"RuleNumber":100,"Protocol":"-1","RuleAction":"allow","CidrBlock":"0.0.0.0/0"},{"RuleNumber":32767,"Protocol":"-1","RuleAction":"deny","CidrBlock":"0.0.0.0/0"}`)},
		{"nacl deny first", finding.Pass, "", nacl(`{"RuleNumber":50,"Protocol":"6","PortRange":{"From":22,"To":22},"RuleAction":"deny","CidrBlock":"0.0.0.0/0"},{"RuleNumber":60,"Protocol":"6","PortRange":{"From":3389,"To":3389},"RuleAction":"deny","CidrBlock":"0.0.0.0/0"},{"RuleNumber":100,"Protocol":"-1","RuleAction":"allow","CidrBlock":"0.0.0.0/0"}`)},
		{"nacl ipv6 allow", finding.Fail, "::/0", nacl(`{"RuleNumber":100,"Protocol":"6","PortRange":{"From":0,"To":65535},"RuleAction":"allow","Ipv6CidrBlock":"::/0"}`)},
		{"nacl egress ignored", finding.Pass, "", nacl(`{"RuleNumber":100,"Protocol":"-1","Egress":true,"RuleAction":"allow","CidrBlock":"0.0.0.0/0"}`)},
	})
}

func TestInstancesAndEBS(t *testing.T) {
	cov := okCoverage()
	inst := func(id, cfg string) func(t *testing.T) Result {
		return func(t *testing.T) Result {
			return evalOne(t, id, newTestEnv(cov), res(TypeInstance, "arn:aws:ec2:us-east-1:111122223333:instance/i-1", cfg, nil))
		}
	}
	ebs := func(cfg string, c []store.Coverage) func(t *testing.T) Result {
		return func(t *testing.T) Result {
			var rs []*inventory.Resource
			if cfg != "" {
				rs = append(rs, res(TypeEBSDefault, "arn:aws:ec2:us-east-1:111122223333:ebs-encryption-by-default", cfg, nil))
			}
			return evalUnit(t, "ec2.ebs_default_encryption", newTestEnv(c, rs...), region)
		}
	}
	vpc := func(flow string, c []store.Coverage) func(t *testing.T) Result {
		return func(t *testing.T) Result {
			var rs []*inventory.Resource
			if flow != "" {
				rs = append(rs, res(TypeFlowLog, "arn:aws:ec2:us-east-1:111122223333:vpc-flow-log/fl-1", flow, nil))
			}
			return evalOne(t, "ec2.vpc_flow_logs", newTestEnv(c, rs...), res(TypeVPC, "arn:aws:ec2:us-east-1:111122223333:vpc/vpc-1", `{"VpcId":"vpc-1"}`, nil))
		}
	}
	snap := func(cfg string, errs map[string]string) func(t *testing.T) Result {
		return func(t *testing.T) Result {
			return evalOne(t, "ec2.snapshot_not_public", newTestEnv(cov), res(TypeSnapshot, "arn:aws:ec2:us-east-1:111122223333:snapshot/snap-1", cfg, errs))
		}
	}
	runCases(t, []tcase{
		{"imdsv2 required", finding.Pass, "", inst("ec2.instance_imdsv2", `{"InstanceId":"i-1","State":{"Name":"running"},"MetadataOptions":{"HttpTokens":"required","HttpEndpoint":"enabled"}}`)},
		{"imdsv1 optional", finding.Fail, "optional", inst("ec2.instance_imdsv2", `{"InstanceId":"i-1","State":{"Name":"running"},"MetadataOptions":{"HttpTokens":"optional","HttpEndpoint":"enabled"}}`)},
		{"imds missing", finding.Error, "", inst("ec2.instance_imdsv2", `{"InstanceId":"i-1"}`)},
		{"terminated skipped", "", "", inst("ec2.instance_imdsv2", `{"InstanceId":"i-1","State":{"Name":"terminated"}}`)},
		{"public ip", finding.Fail, "", inst("ec2.instance_no_public_ip", `{"InstanceId":"i-1","PublicIpAddress":"198.51.100.7"}`)},
		{"no public ip", finding.Pass, "", inst("ec2.instance_no_public_ip", `{"InstanceId":"i-1"}`)},
		{"ebs default on", finding.Pass, "", ebs(`{"EbsEncryptionByDefault":true}`, cov)},
		{"ebs default off", finding.Fail, "", ebs(`{"EbsEncryptionByDefault":false}`, cov)},
		{"ebs default throttled", finding.Error, "throttled", ebs("", withCoverage(cov, TypeEBSDefault, store.CoverageThrottled, "Throttling"))},
		{"flow log active", finding.Pass, "", vpc(`{"ResourceId":"vpc-1","FlowLogStatus":"ACTIVE"}`, cov)},
		{"flow log other vpc", finding.Fail, "", vpc(`{"ResourceId":"vpc-2","FlowLogStatus":"ACTIVE"}`, cov)},
		{"flow logs denied", finding.Error, "denied", vpc("", withCoverage(cov, TypeFlowLog, store.CoverageDenied, "AccessDenied"))},
		{"snapshot public", finding.Fail, "", snap(`{"Public":true}`, nil)},
		{"snapshot private", finding.Pass, "", snap(`{"Public":false}`, nil)},
		{"snapshot perms denied", finding.Error, "", snap(`{"Public":null}`, map[string]string{"Public": "access denied"})},
	})
}
