package check

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/yagura-dev/yagura/internal/finding"
)

// fieldCheck registers a per-resource check that judges one attribute of the resource's Config
// with a predicate; the predicate returns the detail and whether it passes, or NA with skip.
func fieldCheck(id, title, typ string, ctl []string, sev finding.Severity, needs []string, risk string, rem Remediation,
	f func(m map[string]json.RawMessage) (ok bool, skip bool, detail string)) {
	Register(&Check{ID: id, Title: title, Severity: sev, ResourceType: typ, Controls: ctl, Needs: needs, Risk: risk, Remediation: rem,
		Eval: func(e *Env, r *Res) Result {
			mp, err := decode[map[string]json.RawMessage](r)
			if err != nil {
				return Errorf("%v", err)
			}
			ok, skip, detail := f(*mp)
			switch {
			case skip:
				return NA()
			case ok:
				return Pass(detail, nil)
			}
			return Fail(detail, nil)
		}})
}

func jbool(m map[string]json.RawMessage, k string) bool {
	var b bool
	_ = json.Unmarshal(m[k], &b)
	return b
}

func jint(m map[string]json.RawMessage, k string) int {
	var n int
	_ = json.Unmarshal(m[k], &n)
	return n
}

func jstr(m map[string]json.RawMessage, k string) string {
	var s string
	_ = json.Unmarshal(m[k], &s)
	return s
}

// customAdmin passes an RDS instance or cluster whose master username is not an engine's
// default (RDS.24, RDS.25).
func customAdmin(m map[string]json.RawMessage) (bool, bool, string) {
	u := jstr(m, "MasterUsername")
	if u == "" {
		return false, true, ""
	}
	if u == "admin" || u == "postgres" || u == "root" || u == "sa" {
		return false, false, "master username is the default " + u
	}
	return true, false, "custom master username"
}

// boolField passes when a boolean attribute equals want.
func boolField(field string, want bool, yes, no string) func(m map[string]json.RawMessage) (bool, bool, string) {
	return func(m map[string]json.RawMessage) (bool, bool, string) {
		if jbool(m, field) == want {
			return true, false, yes
		}
		return false, false, no
	}
}

var rdsDoc = "https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html"

func rdsRem(cli string) Remediation {
	return Remediation{CLI: cli, Console: "RDS > Databases > database > Modify", Doc: rdsDoc}
}

// defaultPorts are the engines' default listener ports (FSBP RDS.23).
var defaultPorts = map[string]int{"mysql": 3306, "mariadb": 3306, "aurora-mysql": 3306, "aurora": 3306, "postgres": 5432, "aurora-postgresql": 5432,
	"oracle-ee": 1521, "oracle-se2": 1521, "oracle-ee-cdb": 1521, "oracle-se2-cdb": 1521, "sqlserver-ee": 1433, "sqlserver-se": 1433, "sqlserver-ex": 1433, "sqlserver-web": 1433}

// deprecatedRuntimes are Lambda runtimes past AWS's deprecation date (FSBP Lambda.2).
var deprecatedRuntimes = map[string]bool{"python2.7": true, "python3.6": true, "python3.7": true, "python3.8": true,
	"nodejs": true, "nodejs4.3": true, "nodejs6.10": true, "nodejs8.10": true, "nodejs10.x": true, "nodejs12.x": true, "nodejs14.x": true, "nodejs16.x": true,
	"ruby2.5": true, "ruby2.7": true, "java8": true, "dotnetcore1.0": true, "dotnetcore2.0": true, "dotnetcore2.1": true, "dotnetcore3.1": true, "dotnet5.0": true, "dotnet6": true, "go1.x": true, "provided": true}

// minEKSMinor is the oldest Kubernetes 1.x minor version in EKS standard support (FSBP EKS.2).
const minEKSMinor = 30

func init() {
	inst, clu := TypeDBInstance, TypeDBCluster
	fieldCheck("rds.instance_not_public", "RDS DB instances should prohibit public access", inst, []string{"fsbp:RDS.2", "cis-aws-3.0:2.3.3"}, finding.Critical, nil,
		"The database endpoint resolves to a public address.", rdsRem("aws rds modify-db-instance --db-instance-identifier DB --no-publicly-accessible --apply-immediately"),
		boolField("PubliclyAccessible", false, "not publicly accessible", "PubliclyAccessible is true"))
	fieldCheck("rds.instance_encrypted", "RDS DB instances should be encrypted at rest", inst, []string{"fsbp:RDS.3", "cis-aws-3.0:2.3.1"}, finding.Medium, nil,
		"Database storage, backups and snapshots are unencrypted.", rdsRem("Restore from an encrypted snapshot copy (encryption cannot be turned on in place)"),
		boolField("StorageEncrypted", true, "storage encrypted", "storage not encrypted"))
	fieldCheck("rds.instance_auto_minor_upgrade", "RDS automatic minor version upgrades should be enabled", inst, []string{"fsbp:RDS.13", "cis-aws-3.0:2.3.2"}, finding.High, nil,
		"Security patches of the engine are not applied.", rdsRem("aws rds modify-db-instance --db-instance-identifier DB --auto-minor-version-upgrade"),
		boolField("AutoMinorVersionUpgrade", true, "auto minor version upgrade on", "auto minor version upgrade off"))
	fieldCheck("rds.instance_multi_az", "RDS DB instances should be configured with multiple Availability Zones", inst, []string{"fsbp:RDS.5"}, finding.Medium, nil,
		"A zone failure takes the database down.", rdsRem("aws rds modify-db-instance --db-instance-identifier DB --multi-az"),
		func(m map[string]json.RawMessage) (bool, bool, string) {
			if jstr(m, "DBClusterIdentifier") != "" {
				return false, true, ""
			}
			return boolField("MultiAZ", true, "Multi-AZ", "single-AZ")(m)
		})
	fieldCheck("rds.instance_enhanced_monitoring", "Enhanced monitoring should be configured for RDS DB instances", inst, []string{"fsbp:RDS.6"}, finding.Low, nil,
		"OS-level metrics of the database are missing.", rdsRem("aws rds modify-db-instance --db-instance-identifier DB --monitoring-interval 60 --monitoring-role-arn ROLE"),
		func(m map[string]json.RawMessage) (bool, bool, string) {
			if n := jint(m, "MonitoringInterval"); n > 0 {
				return true, false, "monitoring every " + strconv.Itoa(n) + "s"
			}
			return false, false, "enhanced monitoring off"
		})
	fieldCheck("rds.instance_deletion_protection", "RDS DB instances should have deletion protection enabled", inst, []string{"fsbp:RDS.8"}, finding.Low, nil,
		"The database can be deleted by mistake or by an attacker in one call.", rdsRem("aws rds modify-db-instance --db-instance-identifier DB --deletion-protection"),
		boolField("DeletionProtection", true, "deletion protection on", "deletion protection off"))
	fieldCheck("rds.instance_logs_exported", "RDS DB instances should publish logs to CloudWatch Logs", inst, []string{"fsbp:RDS.9"}, finding.Medium, nil,
		"Database logs are not retained centrally.", rdsRem("aws rds modify-db-instance --db-instance-identifier DB --cloudwatch-logs-export-configuration EnableLogTypes=...'"),
		func(m map[string]json.RawMessage) (bool, bool, string) {
			var l []string
			_ = json.Unmarshal(m["EnabledCloudwatchLogsExports"], &l)
			if len(l) > 0 {
				return true, false, "exports " + strings.Join(l, ", ")
			}
			return false, false, "no log exports"
		})
	fieldCheck("rds.instance_iam_auth", "IAM authentication should be configured for RDS instances", inst, []string{"fsbp:RDS.10"}, finding.Medium, nil,
		"Database passwords are the only authentication.", rdsRem("aws rds modify-db-instance --db-instance-identifier DB --enable-iam-database-authentication"),
		func(m map[string]json.RawMessage) (bool, bool, string) {
			eng := jstr(m, "Engine")
			if !strings.Contains(eng, "mysql") && !strings.Contains(eng, "postgres") && eng != "mariadb" {
				return false, true, ""
			}
			return boolField("IAMDatabaseAuthenticationEnabled", true, "IAM auth enabled", "IAM auth disabled")(m)
		})
	fieldCheck("rds.instance_backups", "RDS instances should have automatic backups enabled", inst, []string{"fsbp:RDS.11"}, finding.Medium, nil,
		"No point-in-time recovery after data loss.", rdsRem("aws rds modify-db-instance --db-instance-identifier DB --backup-retention-period 7"),
		func(m map[string]json.RawMessage) (bool, bool, string) {
			if jstr(m, "DBClusterIdentifier") != "" {
				return false, true, ""
			}
			if n := jint(m, "BackupRetentionPeriod"); n >= 7 {
				return true, false, strconv.Itoa(n) + " days retention"
			}
			return false, false, "backup retention " + strconv.Itoa(jint(m, "BackupRetentionPeriod")) + " days (< 7)"
		})
	fieldCheck("rds.instance_copy_tags", "RDS DB instances should copy tags to snapshots", inst, []string{"fsbp:RDS.17"}, finding.Low, nil,
		"Snapshots lose ownership and classification tags.", rdsRem("aws rds modify-db-instance --db-instance-identifier DB --copy-tags-to-snapshot"),
		boolField("CopyTagsToSnapshot", true, "copies tags", "does not copy tags"))
	fieldCheck("rds.instance_custom_port", "RDS instances should not use a database engine default port", inst, []string{"fsbp:RDS.23"}, finding.Low, nil,
		"Default ports are the first ones scanned.", rdsRem("aws rds modify-db-instance --db-instance-identifier DB --db-port-number PORT"),
		func(m map[string]json.RawMessage) (bool, bool, string) {
			var ep struct{ Port int }
			_ = json.Unmarshal(m["Endpoint"], &ep)
			def, known := defaultPorts[jstr(m, "Engine")]
			if !known || ep.Port == 0 {
				return false, true, ""
			}
			if ep.Port == def {
				return false, false, "uses the default port " + strconv.Itoa(def)
			}
			return true, false, "port " + strconv.Itoa(ep.Port)
		})
	fieldCheck("rds.instance_custom_admin", "RDS database instances should use a custom administrator username", inst, []string{"fsbp:RDS.25"}, finding.Medium, nil,
		"Default admin names halve the work of password guessing.", rdsRem("Create a new instance with a custom master username"),
		customAdmin)
	fieldCheck("rds.cluster_deletion_protection", "RDS clusters should have deletion protection enabled", clu, []string{"fsbp:RDS.7"}, finding.Low, nil,
		"The cluster can be deleted in one call.", rdsRem("aws rds modify-db-cluster --db-cluster-identifier C --deletion-protection"),
		boolField("DeletionProtection", true, "deletion protection on", "deletion protection off"))
	fieldCheck("rds.cluster_iam_auth", "IAM authentication should be configured for RDS clusters", clu, []string{"fsbp:RDS.12"}, finding.Medium, nil,
		"Database passwords are the only authentication.", rdsRem("aws rds modify-db-cluster --db-cluster-identifier C --enable-iam-database-authentication"),
		boolField("IAMDatabaseAuthenticationEnabled", true, "IAM auth enabled", "IAM auth disabled"))
	fieldCheck("rds.cluster_multi_az", "RDS DB clusters should be configured for multiple Availability Zones", clu, []string{"fsbp:RDS.15"}, finding.Medium, nil,
		"A zone failure takes the cluster down.", rdsRem("Add a reader in another Availability Zone"),
		boolField("MultiAZ", true, "Multi-AZ", "single-AZ"))
	fieldCheck("rds.cluster_copy_tags", "RDS DB clusters should copy tags to snapshots", clu, []string{"fsbp:RDS.16"}, finding.Low, nil,
		"Snapshots lose ownership and classification tags.", rdsRem("aws rds modify-db-cluster --db-cluster-identifier C --copy-tags-to-snapshot"),
		boolField("CopyTagsToSnapshot", true, "copies tags", "does not copy tags"))
	fieldCheck("rds.cluster_encrypted", "RDS DB clusters should be encrypted at rest", clu, []string{"fsbp:RDS.27"}, finding.Medium, nil,
		"Cluster storage is unencrypted.", rdsRem("Restore from an encrypted snapshot copy"),
		boolField("StorageEncrypted", true, "storage encrypted", "storage not encrypted"))
	fieldCheck("rds.cluster_auto_minor_upgrade", "RDS DB clusters should have automatic minor version upgrade enabled", clu, []string{"fsbp:RDS.35"}, finding.Medium, nil,
		"Security patches of the engine are not applied.", rdsRem("aws rds modify-db-cluster --db-cluster-identifier C --auto-minor-version-upgrade"),
		boolField("AutoMinorVersionUpgrade", true, "auto minor version upgrade on", "auto minor version upgrade off"))
	for _, t := range []string{TypeDBSnapshot, TypeDBClusterSnapshot} {
		suffix := "snapshot"
		if t == TypeDBClusterSnapshot {
			suffix = "cluster_snapshot"
		}
		fieldCheck("rds."+suffix+"_not_public", "RDS snapshots should be private", t, []string{"fsbp:RDS.1"}, finding.Critical, []string{"Public"},
			"Anyone can restore the database from this snapshot.", rdsRem("aws rds modify-db-snapshot-attribute --db-snapshot-identifier S --attribute-name restore --values-to-remove all"),
			boolField("Public", false, "snapshot is private", "snapshot is restorable by anyone"))
		fieldCheck("rds."+suffix+"_encrypted", "RDS snapshots should be encrypted at rest", t, []string{"fsbp:RDS.4"}, finding.Medium, nil,
			"Snapshot data is unencrypted.", rdsRem("Copy the snapshot with --kms-key-id to encrypt it"),
			func(m map[string]json.RawMessage) (bool, bool, string) {
				if jbool(m, "Encrypted") || jbool(m, "StorageEncrypted") {
					return true, false, "encrypted"
				}
				return false, false, "not encrypted"
			})
	}

	lambdaDoc := "https://docs.aws.amazon.com/securityhub/latest/userguide/lambda-controls.html"
	Register(&Check{ID: "lambda.function_not_public", Title: "Lambda function policies should prohibit public access",
		Severity: finding.Critical, ResourceType: TypeLambdaFunction, Controls: []string{"fsbp:Lambda.1"}, Needs: []string{"Policy"},
		Risk:        "Anyone can invoke the function.",
		Remediation: Remediation{CLI: "aws lambda remove-permission --function-name F --statement-id SID", Console: "Lambda > function > Configuration > Permissions > Resource-based policy", Doc: lambdaDoc},
		Eval: func(e *Env, r *Res) Result {
			var c struct{ Policy json.RawMessage }
			if err := json.Unmarshal(r.Config, &c); err != nil {
				return Errorf("%v", err)
			}
			d, err := parsePolicyValue(c.Policy)
			if err != nil {
				return Errorf("%v", err)
			}
			if d == nil {
				return Pass("no resource-based policy", nil)
			}
			if idx := d.PublicGrant(); len(idx) > 0 {
				return Fail(fmt.Sprintf("statement %d allows any principal to invoke without a restricting condition", idx[0]), map[string]any{"statements": idx})
			}
			return Pass("resource policy does not admit everyone", nil)
		}})
	fieldCheck("lambda.supported_runtime", "Lambda functions should use supported runtimes", TypeLambdaFunction, []string{"fsbp:Lambda.2"}, finding.Medium, nil,
		"Deprecated runtimes get no security patches.", Remediation{CLI: "aws lambda update-function-configuration --function-name F --runtime RUNTIME", Doc: "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html"},
		func(m map[string]json.RawMessage) (bool, bool, string) {
			rt := jstr(m, "Runtime")
			if rt == "" {
				return false, true, "" // container image
			}
			if deprecatedRuntimes[rt] {
				return false, false, "deprecated runtime " + rt
			}
			return true, false, "runtime " + rt
		})
	fieldCheck("lambda.in_vpc", "Lambda functions should be in a VPC", TypeLambdaFunction, []string{"fsbp:Lambda.3"}, finding.Low, nil,
		"The function's network access cannot be controlled.", Remediation{Console: "Lambda > function > Configuration > VPC", Doc: lambdaDoc},
		func(m map[string]json.RawMessage) (bool, bool, string) {
			var v struct{ VpcId string }
			_ = json.Unmarshal(m["VpcConfig"], &v)
			if v.VpcId != "" {
				return true, false, "in " + v.VpcId
			}
			return false, false, "not in a VPC"
		})
	fieldCheck("lambda.vpc_multi_az", "VPC Lambda functions should operate in multiple Availability Zones", TypeLambdaFunction, []string{"fsbp:Lambda.5"}, finding.Medium, nil,
		"A zone failure stops the function.", Remediation{Console: "Lambda > function > Configuration > VPC: add subnets in other zones", Doc: lambdaDoc},
		func(m map[string]json.RawMessage) (bool, bool, string) {
			var v struct {
				VpcId     string
				SubnetIds []string
			}
			_ = json.Unmarshal(m["VpcConfig"], &v)
			if v.VpcId == "" {
				return false, true, ""
			}
			if len(v.SubnetIds) >= 2 {
				return true, false, strconv.Itoa(len(v.SubnetIds)) + " subnets"
			}
			return false, false, "a single subnet"
		})
	Register(&Check{ID: "lambda.url_auth", Title: "Lambda function URLs should require IAM authentication",
		Severity: finding.High, ResourceType: TypeLambdaFunction, Needs: []string{"FunctionUrlConfigs"},
		Risk:        "Anyone on the internet can invoke the function through its URL.",
		Remediation: Remediation{CLI: "aws lambda update-function-url-config --function-name F --auth-type AWS_IAM", Doc: "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"},
		Eval: func(e *Env, r *Res) Result {
			var c struct {
				FunctionUrlConfigs []struct{ AuthType, FunctionUrl string }
			}
			if err := json.Unmarshal(r.Config, &c); err != nil {
				return Errorf("%v", err)
			}
			if len(c.FunctionUrlConfigs) == 0 {
				return NA()
			}
			for _, u := range c.FunctionUrlConfigs {
				if u.AuthType == "NONE" {
					return Fail("function URL "+u.FunctionUrl+" has AuthType NONE", nil)
				}
			}
			return Pass("function URLs require IAM", nil)
		}})

	ecrDoc := "https://docs.aws.amazon.com/securityhub/latest/userguide/ecr-controls.html"
	Register(&Check{ID: "ecr.image_scanning", Title: "ECR private repositories should have image scanning configured",
		Severity: finding.High, ResourceType: TypeECRRepository, Controls: []string{"fsbp:ECR.1"}, Inputs: []string{TypeECRRegistryScanning},
		Risk:        "Vulnerable images are pushed and run without anyone knowing.",
		Remediation: Remediation{CLI: "aws ecr put-image-scanning-configuration --repository-name R --image-scanning-configuration scanOnPush=true", Console: "ECR > repository > Edit > Scan on push", Doc: ecrDoc},
		Eval: func(e *Env, r *Res) Result {
			c, err := decode[struct {
				ImageScanningConfiguration *struct{ ScanOnPush bool }
			}](r)
			if err != nil {
				return Errorf("%v", err)
			}
			if c.ImageScanningConfiguration != nil && c.ImageScanningConfiguration.ScanOnPush {
				return Pass("scan on push enabled", nil)
			}
			// Registry-level scanning (enhanced, or basic with rules) overrides the repository flag.
			if reg := e.One(TypeECRRegistryScanning, r.AccountID, r.Region); reg != nil {
				rc, err := decode[struct {
					ScanningConfiguration *struct {
						ScanType string
						Rules    []struct{ ScanFrequency string }
					}
				}](reg)
				if err == nil && rc.ScanningConfiguration != nil && (rc.ScanningConfiguration.ScanType == "ENHANCED" || len(rc.ScanningConfiguration.Rules) > 0) {
					return Pass("registry scanning ("+rc.ScanningConfiguration.ScanType+") applies", nil)
				}
			} else if p := e.InputProblem(TypeECRRegistryScanning, r.AccountID, r.Region); p != "" {
				return Errorf("scan on push off and registry scanning unknown: %s", p)
			}
			return Fail("no scan on push and no registry scanning rule", nil)
		}})
	fieldCheck("ecr.tag_immutability", "ECR private repositories should have tag immutability configured", TypeECRRepository, []string{"fsbp:ECR.2"}, finding.Medium, nil,
		"A tag can be silently re-pointed to another image.", Remediation{CLI: "aws ecr put-image-tag-mutability --repository-name R --image-tag-mutability IMMUTABLE", Doc: ecrDoc},
		func(m map[string]json.RawMessage) (bool, bool, string) {
			if v := jstr(m, "ImageTagMutability"); strings.HasPrefix(v, "IMMUTABLE") {
				return true, false, v
			}
			return false, false, "tags are mutable"
		})
	fieldCheck("ecr.lifecycle_policy", "ECR repositories should have at least one lifecycle policy configured", TypeECRRepository, []string{"fsbp:ECR.3"}, finding.Medium, []string{"LifecyclePolicy"},
		"Old, vulnerable images pile up.", Remediation{CLI: "aws ecr put-lifecycle-policy --repository-name R --lifecycle-policy-text file://policy.json", Doc: ecrDoc},
		func(m map[string]json.RawMessage) (bool, bool, string) {
			if v := m["LifecyclePolicy"]; len(v) > 0 && string(v) != "null" {
				return true, false, "lifecycle policy set"
			}
			return false, false, "no lifecycle policy"
		})
	fieldCheck("ecr.kms_encryption", "ECR repositories should be encrypted with customer managed AWS KMS keys", TypeECRRepository, []string{"fsbp:ECR.5"}, finding.Medium, nil,
		"Image layers are encrypted with keys whose use cannot be controlled.", Remediation{Console: "Recreate the repository with KMS encryption", Doc: ecrDoc},
		func(m map[string]json.RawMessage) (bool, bool, string) {
			var c struct{ EncryptionType, KmsKey string }
			_ = json.Unmarshal(m["EncryptionConfiguration"], &c)
			if strings.HasPrefix(c.EncryptionType, "KMS") && c.KmsKey != "" && !strings.Contains(c.KmsKey, "alias/aws/") {
				return true, false, "encrypted with " + c.KmsKey
			}
			return false, false, "encryption " + c.EncryptionType
		})

	eksDoc := "https://docs.aws.amazon.com/securityhub/latest/userguide/eks-controls.html"
	cl := []string{"Cluster"}
	fieldCheck("eks.endpoint_not_public", "EKS cluster endpoints should not be publicly accessible", TypeEKSCluster, []string{"fsbp:EKS.1"}, finding.High, cl,
		"The Kubernetes API is reachable from the internet.", Remediation{CLI: "aws eks update-cluster-config --name C --resources-vpc-config endpointPublicAccess=false,endpointPrivateAccess=true", Doc: eksDoc},
		func(m map[string]json.RawMessage) (bool, bool, string) {
			var v struct {
				EndpointPublicAccess bool
				PublicAccessCidrs    []string
			}
			_ = json.Unmarshal(m["ResourcesVpcConfig"], &v)
			if !v.EndpointPublicAccess {
				return true, false, "private endpoint only"
			}
			return false, false, "public endpoint open to " + strings.Join(v.PublicAccessCidrs, ", ")
		})
	fieldCheck("eks.supported_version", "EKS clusters should run on a supported Kubernetes version", TypeEKSCluster, []string{"fsbp:EKS.2"}, finding.High, cl,
		"Unsupported versions get no security fixes.", Remediation{CLI: "aws eks update-cluster-version --name C --kubernetes-version V", Doc: eksDoc},
		func(m map[string]json.RawMessage) (bool, bool, string) {
			v := jstr(m, "Version")
			// Kubernetes versions are major.minor where 1.30 > 1.9: compare the minor as an integer.
			major, minorText, found := strings.Cut(v, ".")
			minor, err := strconv.Atoi(minorText)
			if !found || major != "1" || err != nil {
				return false, false, "unknown version " + v
			}
			if minor >= minEKSMinor {
				return true, false, "version " + v
			}
			return false, false, "version " + v + " is out of standard support"
		})
	fieldCheck("eks.secrets_encrypted", "EKS clusters should use encrypted Kubernetes secrets", TypeEKSCluster, []string{"fsbp:EKS.3"}, finding.Medium, cl,
		"Secrets in etcd are protected only by the default encryption.", Remediation{CLI: "aws eks associate-encryption-config --cluster-name C --encryption-config resources=secrets,provider={keyArn=KEY}", Doc: eksDoc},
		func(m map[string]json.RawMessage) (bool, bool, string) {
			var ec []struct{ Resources []string }
			_ = json.Unmarshal(m["EncryptionConfig"], &ec)
			for _, c := range ec {
				if contains(c.Resources, "secrets") {
					return true, false, "secrets envelope-encrypted with KMS"
				}
			}
			return false, false, "secrets are not envelope-encrypted"
		})
	fieldCheck("eks.audit_logging", "EKS clusters should have audit logging enabled", TypeEKSCluster, []string{"fsbp:EKS.8"}, finding.Medium, cl,
		"API server actions leave no audit trail.", Remediation{CLI: "aws eks update-cluster-config --name C --logging '{\"clusterLogging\":[{\"types\":[\"audit\"],\"enabled\":true}]}'", Doc: eksDoc},
		func(m map[string]json.RawMessage) (bool, bool, string) {
			var l struct {
				ClusterLogging []struct {
					Enabled *bool
					Types   []string
				}
			}
			_ = json.Unmarshal(m["Logging"], &l)
			for _, c := range l.ClusterLogging {
				if boolp(c.Enabled) && contains(c.Types, "audit") {
					return true, false, "audit logs enabled"
				}
			}
			return false, false, "audit logs disabled"
		})

	elbDoc := "https://docs.aws.amazon.com/securityhub/latest/userguide/elb-controls.html"
	elbAttr := func(id, title, ctl, key, want string, sev finding.Severity, risk, cli string, appOnly bool) {
		fieldCheck(id, title, TypeLoadBalancer, []string{ctl}, sev, []string{"Attributes"}, risk,
			Remediation{CLI: cli, Console: "EC2 > Load balancers > balancer > Attributes > Edit", Doc: elbDoc},
			func(m map[string]json.RawMessage) (bool, bool, string) {
				if appOnly && jstr(m, "Type") != "application" {
					return false, true, ""
				}
				var attrs map[string]string
				if err := json.Unmarshal(m["Attributes"], &attrs); err != nil || attrs == nil {
					return false, false, "attributes not collected"
				}
				v, ok := attrs[key]
				if !ok {
					return false, false, key + " not set"
				}
				if v == want || want == "defensive|strictest" && (v == "defensive" || v == "strictest") {
					return true, false, key + "=" + v
				}
				return false, false, key + "=" + v
			})
	}
	elbAttr("elb.drop_invalid_headers", "Application Load Balancers should drop invalid HTTP headers", "fsbp:ELB.4", "routing.http.drop_invalid_header_fields.enabled", "true", finding.Medium,
		"Malformed headers can be used for request smuggling.", "aws elbv2 modify-load-balancer-attributes --load-balancer-arn ARN --attributes Key=routing.http.drop_invalid_header_fields.enabled,Value=true", true)
	elbAttr("elb.access_logging", "Load balancer access logging should be enabled", "fsbp:ELB.5", "access_logs.s3.enabled", "true", finding.Medium,
		"Requests to the balancer leave no access log.", "aws elbv2 modify-load-balancer-attributes --load-balancer-arn ARN --attributes Key=access_logs.s3.enabled,Value=true Key=access_logs.s3.bucket,Value=BUCKET", false)
	elbAttr("elb.deletion_protection", "Load balancers should have deletion protection enabled", "fsbp:ELB.6", "deletion_protection.enabled", "true", finding.Medium,
		"The balancer can be deleted in one call.", "aws elbv2 modify-load-balancer-attributes --load-balancer-arn ARN --attributes Key=deletion_protection.enabled,Value=true", false)
	elbAttr("elb.desync_mitigation", "Application Load Balancers should use defensive or strictest desync mitigation mode", "fsbp:ELB.12", "routing.http.desync_mitigation_mode", "defensive|strictest", finding.Medium,
		"HTTP desync attacks can poison requests.", "aws elbv2 modify-load-balancer-attributes --load-balancer-arn ARN --attributes Key=routing.http.desync_mitigation_mode,Value=defensive", true)
	fieldCheck("elb.multi_az", "Load balancers should span multiple Availability Zones", TypeLoadBalancer, []string{"fsbp:ELB.13"}, finding.Medium, nil,
		"A zone failure takes the entry point down.", Remediation{CLI: "aws elbv2 set-subnets --load-balancer-arn ARN --subnets S1 S2", Doc: elbDoc},
		func(m map[string]json.RawMessage) (bool, bool, string) {
			var az []any
			_ = json.Unmarshal(m["AvailabilityZones"], &az)
			if len(az) >= 2 {
				return true, false, strconv.Itoa(len(az)) + " zones"
			}
			return false, false, strconv.Itoa(len(az)) + " zone"
		})
	fieldCheck("elb.http_redirects_to_https", "Application Load Balancers should redirect all HTTP requests to HTTPS", TypeListener, []string{"fsbp:ELB.1"}, finding.Medium, nil,
		"Clients can talk to the application in clear text.", Remediation{Console: "EC2 > Load balancers > Listeners > HTTP:80 > default action: redirect to HTTPS", Doc: elbDoc},
		func(m map[string]json.RawMessage) (bool, bool, string) {
			// Only HTTP listeners of application load balancers are in scope.
			if jstr(m, "Protocol") != "HTTP" || !strings.Contains(jstr(m, "ListenerArn")+jstr(m, "LoadBalancerArn"), "/app/") {
				return false, true, ""
			}
			var acts []struct {
				Type           string
				RedirectConfig *struct{ Protocol string }
			}
			_ = json.Unmarshal(m["DefaultActions"], &acts)
			for _, a := range acts {
				if a.Type == "redirect" && a.RedirectConfig != nil && a.RedirectConfig.Protocol == "HTTPS" {
					return true, false, "HTTP listener redirects to HTTPS"
				}
			}
			return false, false, fmt.Sprintf("HTTP listener on port %d does not redirect to HTTPS", jint(m, "Port"))
		})

	Register(&Check{ID: "ssm.instance_managed", Title: "EC2 instances should be managed by AWS Systems Manager",
		Severity: finding.Medium, ResourceType: TypeInstance, Controls: []string{"fsbp:SSM.1"}, Inputs: []string{TypeSSMManagedInstance},
		Risk:        "The instance cannot be patched or inventoried centrally.",
		Remediation: Remediation{Console: "Attach an instance profile with AmazonSSMManagedInstanceCore and make sure the SSM agent runs", Doc: "https://docs.aws.amazon.com/systems-manager/latest/userguide/managed_instances.html"},
		Eval: func(e *Env, r *Res) Result {
			i, err := decode[instanceConfig](r)
			if err != nil {
				return Errorf("%v", err)
			}
			if i.State != nil && i.State.Name != "running" {
				return NA()
			}
			if p := e.InputProblem(TypeSSMManagedInstance, r.AccountID, r.Region); p != "" {
				return Errorf("SSM inventory unknown: %s", p)
			}
			arn := fmt.Sprintf("arn:%s:ssm:%s:%s:managed-instance/%s", partitionOf(r.ARN), r.Region, r.AccountID, i.InstanceId)
			if m := e.Get(arn); m != nil {
				return Pass("managed by Systems Manager", map[string]string{"managed_instance": arn})
			}
			return Fail("instance is not registered with Systems Manager", nil)
		}})
	Register(&Check{ID: "ssm.documents_block_public_sharing", Subject: "arn:{partition}:ssm:{region}:{account}:servicesetting/ssm/documents/console/public-sharing-permission", Title: "SSM documents should have the block public sharing setting enabled",
		Severity: finding.Critical, ResourceType: "AWS::SSM::ServiceSetting", Scope: PerRegion, Inputs: []string{"AWS::SSM::ServiceSetting"},
		Controls: []string{"fsbp:SSM.7"}, Risk: "Documents (with embedded scripts and parameters) can be shared with every AWS account.",
		Remediation: Remediation{CLI: "aws ssm update-service-setting --setting-id /ssm/documents/console/public-sharing-permission --setting-value Disable", Console: "Systems Manager > Documents > Preferences > Block public sharing", Doc: "https://docs.aws.amazon.com/systems-manager/latest/userguide/documents-ssm-sharing.html"},
		EvalScope: func(e *Env, u Unit) Result {
			r := e.One("AWS::SSM::ServiceSetting", u.Account, u.Region)
			if r == nil {
				return Errorf("SSM service setting not in the inventory")
			}
			s, err := decode[struct{ SettingValue string }](r)
			if err != nil {
				return Errorf("%v", err)
			}
			if s.SettingValue == "Disable" {
				return accountResult(Pass("public sharing blocked", nil), r)
			}
			return accountResult(Fail("public sharing of SSM documents is allowed ("+s.SettingValue+")", nil), r)
		}})
}

func partitionOf(arn string) string {
	parts := strings.SplitN(arn, ":", 3)
	if len(parts) < 2 || parts[1] == "" {
		return "aws"
	}
	return parts[1]
}
