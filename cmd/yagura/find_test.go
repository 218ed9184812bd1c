package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/mototest"
)

// findCLI runs the built yagura binary and returns stdout, stderr and the exit code.
func findCLI(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), errb.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return out.String(), errb.String(), 0
}

func findSG(t *testing.T, cfg aws.Config, region, name string, cidrs ...string) string {
	t.Helper()
	ctx := context.Background()
	cfg = cfg.Copy()
	cfg.Region = region
	c := ec2.NewFromConfig(cfg)
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.30.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name), VpcId: vpc.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	p := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22)}
	for _, c := range cidrs {
		p.IpRanges = append(p.IpRanges, ec2types.IpRange{CidrIp: aws.String(c)})
	}
	if _, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: g.GroupId, IpPermissions: []ec2types.IpPermission{p}}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(g.GroupId)
}

// The CLI end to end: a scan through the binary indexes the rules (the scan hook), `find ip`
// answers from them, `inventory` lists the security groups the AWS CLI describes, and bad input
// exits 1 with a clear message.
func TestFindAndInventoryCLI(t *testing.T) {
	srv := mototest.New(t)
	cfg := srv.Config(t, "us-east-1")
	ctx := context.Background()
	org := organizations.NewFromConfig(cfg)
	if _, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}); err != nil {
		t.Fatal(err)
	}
	acc, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("prod"), Email: aws.String("prod@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	member := aws.ToString(acc.CreateAccountStatus.AccountId)
	role := "arn:aws:iam::" + member + ":role/OrganizationAccountAccessRole"
	creds, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("test")})
	if err != nil {
		t.Fatal(err)
	}
	mcfg := cfg.Copy()
	mcfg.Credentials = aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: aws.ToString(creds.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(creds.Credentials.SecretAccessKey),
			SessionToken: aws.ToString(creds.Credentials.SessionToken)}, nil
	}))
	exact := findSG(t, cfg, "us-east-1", "exact", "203.0.113.7/32")
	wide := findSG(t, mcfg, "eu-west-1", "wide", "203.0.113.0/24", "198.51.100.0/24")
	unrelated := findSG(t, mcfg, "us-east-1", "unrelated", "192.0.2.0/24")

	dir := t.TempDir()
	bin := filepath.Join(dir, "yagura")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	db := filepath.Join(dir, "y.db")
	common := []string{"--db", db, "--endpoint-url", srv.URL, "--quiet"}
	if _, stderr, code := findCLI(t, bin, append(common, "scan", "--role-name", "OrganizationAccountAccessRole",
		"--regions", "us-east-1,eu-west-1", "--services", "ec2,s3")...); code != 0 {
		t.Fatalf("scan exit %d: %s", code, stderr)
	}

	t.Run("find ip", func(t *testing.T) {
		out, stderr, code := findCLI(t, bin, append(common, "find", "ip", "203.0.113.7", "--direction", "ingress", "--format", "json")...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var res findResult
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		var got []string
		for _, m := range res.Matches {
			if m.Kind == "network-acl" {
				continue // every default VPC's ACL allows the world; checked in netsearch's tests
			}
			got = append(got, m.AccountID+" "+m.Region+" "+m.ResourceARN+" "+m.ResourceName+" "+m.CIDR+" "+m.Matched+" "+m.Ports)
		}
		sort.Strings(got)
		want := []string{
			"123456789012 us-east-1 arn:aws:ec2:us-east-1:123456789012:security-group/" + exact + " exact 203.0.113.7/32 exact 22",
			member + " eu-west-1 arn:aws:ec2:eu-west-1:" + member + ":security-group/" + wide + " wide 203.0.113.0/24 contains 22",
		}
		sort.Strings(want)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("find ip:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if strings.Contains(out, unrelated) {
			t.Errorf("the unrelated group was reported")
		}
		// A port the rules do not open finds no security group rule.
		out, _, _ = findCLI(t, bin, append(common, "find", "ip", "203.0.113.7", "--direction", "ingress", "--port", "443", "--format", "json")...)
		if strings.Contains(out, exact) || strings.Contains(out, wide) {
			t.Errorf("--port 443 matched the port 22 rules:\n%s", out)
		}
	})

	t.Run("inventory matches the AWS CLI", func(t *testing.T) {
		out, stderr, code := findCLI(t, bin, append(common, "inventory", "--type", "AWS::EC2::SecurityGroup", "--format", "json")...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var rs []inventory.Resource
		if err := json.Unmarshal([]byte(out), &rs); err != nil {
			t.Fatalf("inventory json: %v\n%s", err, out)
		}
		got := map[string]string{}
		for _, r := range rs {
			if r.Type != "AWS::EC2::SecurityGroup" {
				t.Errorf("type %s in a --type AWS::EC2::SecurityGroup listing", r.Type)
			}
			var c struct {
				GroupId, GroupName string
				IpPermissions      json.RawMessage
			}
			json.Unmarshal(r.Config, &c)
			got[r.AccountID+" "+r.Region+" "+c.GroupId] = c.GroupName + " " + cidrsOf(t, c.IpPermissions)
		}
		want := map[string]string{}
		for _, a := range []struct {
			account string
			env     []string
		}{
			{"123456789012", nil},
			{member, []string{"AWS_ACCESS_KEY_ID=" + aws.ToString(creds.Credentials.AccessKeyId), "AWS_SECRET_ACCESS_KEY=" + aws.ToString(creds.Credentials.SecretAccessKey),
				"AWS_SESSION_TOKEN=" + aws.ToString(creds.Credentials.SessionToken)}},
		} {
			for _, region := range []string{"us-east-1", "eu-west-1"} {
				cmd := exec.Command("aws", "--endpoint-url", srv.URL, "--region", region, "--output", "json", "ec2", "describe-security-groups")
				cmd.Env = append(os.Environ(), a.env...)
				b, err := cmd.Output()
				if err != nil {
					t.Fatalf("aws ec2 describe-security-groups: %v", err)
				}
				var d struct {
					SecurityGroups []struct {
						GroupId, GroupName, OwnerId string
						IpPermissions               json.RawMessage
					}
				}
				if err := json.Unmarshal(b, &d); err != nil {
					t.Fatal(err)
				}
				for _, g := range d.SecurityGroups {
					if g.OwnerId != a.account {
						t.Errorf("aws CLI with %s's credentials shows a group of %s", a.account, g.OwnerId)
					}
					want[a.account+" "+region+" "+g.GroupId] = g.GroupName + " " + cidrsOf(t, g.IpPermissions)
				}
			}
		}
		if len(got) != len(want) {
			t.Errorf("inventory lists %d groups, the AWS CLI %d", len(got), len(want))
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: inventory %q, AWS CLI %q", k, got[k], v)
			}
		}
		if !strings.Contains(want[member+" eu-west-1 "+wide], "203.0.113.0/24") {
			t.Errorf("the planted group is not in the AWS CLI's answer: %v", want)
		}
	})

	t.Run("bad input exits 1", func(t *testing.T) {
		for _, args := range [][]string{
			{"find", "ip", "203.0.113.999"},
			{"find", "ip", "203.0.113.0/24"},
			{"find", "cidr", "203.0.113.0/33"},
			{"find", "cidr", "not-a-cidr/8"},
			{"find", "ip", "203.0.113.7", "--protocol", "sctp"},
			{"find", "cidr", "10.0.0.0/8", "--within", "--overlaps"},
			{"inventory", "--tag", "novalue"},
		} {
			out, stderr, code := findCLI(t, bin, append(common, args...)...)
			if code != 1 || out != "" || !strings.Contains(stderr, "yagura: ") || !(strings.Contains(stderr, "invalid") || strings.Contains(stderr, "want") || strings.Contains(stderr, "exclude")) {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and a clear message", args, code, out, stderr)
			}
		}
	})

	t.Run("counts", func(t *testing.T) {
		out, stderr, code := findCLI(t, bin, append(common, "inventory", "--counts", "--format", "json")...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var cs []struct {
			Type      string `json:"type"`
			AccountID string `json:"account_id"`
			Count     int    `json:"count"`
		}
		if err := json.Unmarshal([]byte(out), &cs); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range cs {
			if c.Type == "AWS::EC2::SecurityGroup" && c.AccountID == member {
				n = c.Count
			}
		}
		// Member: the default group of the default VPC in each region, each new VPC's default
		// group, and the two planted groups.
		if n < 2 {
			t.Errorf("member security groups counted %d: %s", n, out)
		}
	})
}

// cidrsOf reduces IpPermissions to its sorted IPv4 CIDRs, the part both sides must agree on.
func cidrsOf(t *testing.T, raw json.RawMessage) string {
	var ps []struct {
		IpRanges []struct{ CidrIp string }
	}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &ps); err != nil {
			t.Fatal(err)
		}
	}
	var out []string
	for _, p := range ps {
		for _, r := range p.IpRanges {
			out = append(out, r.CidrIp)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}
