package check

import (
	"testing"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/store"
)

func TestServiceChecks(t *testing.T) {
	cov := okCoverage()
	one := func(id, typ, cfg string, errs map[string]string, rs ...*inventory.Resource) func(t *testing.T) Result {
		return func(t *testing.T) Result {
			return evalOne(t, id, newTestEnv(cov, rs...), res(typ, "arn:aws:svc:us-east-1:111122223333:thing/x", cfg, errs))
		}
	}
	regScan := func(cfg string) *inventory.Resource {
		return res(TypeECRRegistryScanning, "arn:aws:ecr:us-east-1:111122223333:registry-scanning-configuration", cfg, nil)
	}
	ssmInstance := res(TypeSSMManagedInstance, "arn:aws:ssm:us-east-1:111122223333:managed-instance/i-1", `{"InstanceId":"i-1"}`, nil)
	runCases(t, []tcase{
		{"rds public", finding.Fail, "", one("rds.instance_not_public", TypeDBInstance, `{"PubliclyAccessible":true}`, nil)},
		{"rds private", finding.Pass, "", one("rds.instance_not_public", TypeDBInstance, `{"PubliclyAccessible":false}`, nil)},
		{"rds encrypted", finding.Pass, "", one("rds.instance_encrypted", TypeDBInstance, `{"StorageEncrypted":true}`, nil)},
		{"rds unencrypted", finding.Fail, "", one("rds.instance_encrypted", TypeDBInstance, `{"StorageEncrypted":false}`, nil)},
		{"rds minor upgrade off", finding.Fail, "", one("rds.instance_auto_minor_upgrade", TypeDBInstance, `{"AutoMinorVersionUpgrade":false}`, nil)},
		{"rds default port", finding.Fail, "default port", one("rds.instance_custom_port", TypeDBInstance, `{"Engine":"postgres","Endpoint":{"Port":5432}}`, nil)},
		{"rds custom port", finding.Pass, "", one("rds.instance_custom_port", TypeDBInstance, `{"Engine":"postgres","Endpoint":{"Port":6432}}`, nil)},
		{"rds aurora member multi-az n/a", "", "", one("rds.instance_multi_az", TypeDBInstance, `{"DBClusterIdentifier":"c","MultiAZ":false}`, nil)},
		{"rds backups short", finding.Fail, "", one("rds.instance_backups", TypeDBInstance, `{"BackupRetentionPeriod":1}`, nil)},
		{"snapshot public", finding.Fail, "", one("rds.snapshot_not_public", TypeDBSnapshot, `{"Public":true}`, nil)},
		{"snapshot attrs denied", finding.Error, "Public", one("rds.snapshot_not_public", TypeDBSnapshot, `{"Public":null}`, map[string]string{"Public": "access denied"})},
		{"cluster snapshot encrypted", finding.Pass, "", one("rds.cluster_snapshot_encrypted", TypeDBClusterSnapshot, `{"StorageEncrypted":true}`, nil)},
		{"lambda public", finding.Fail, "", one("lambda.function_not_public", TypeLambdaFunction, `{"Policy":`+stmt(`{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"*"}`)+`}`, nil)},
		{"lambda source arn pinned", finding.Pass, "", one("lambda.function_not_public", TypeLambdaFunction, `{"Policy":`+stmt(`{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"*","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::b"}}}`)+`}`, nil)},
		{"lambda policy denied", finding.Error, "", one("lambda.function_not_public", TypeLambdaFunction, `{"Policy":null}`, map[string]string{"Policy": "access denied"})},
		{"lambda old runtime", finding.Fail, "", one("lambda.supported_runtime", TypeLambdaFunction, `{"Runtime":"python3.7"}`, nil)},
		{"lambda current runtime", finding.Pass, "", one("lambda.supported_runtime", TypeLambdaFunction, `{"Runtime":"python3.12"}`, nil)},
		{"lambda url none", finding.Fail, "", one("lambda.url_auth", TypeLambdaFunction, `{"FunctionUrlConfigs":[{"AuthType":"NONE","FunctionUrl":"https://x"}]}`, nil)},
		{"ecr scan on push", finding.Pass, "", one("ecr.image_scanning", TypeECRRepository, `{"ImageScanningConfiguration":{"ScanOnPush":true}}`, nil)},
		{"ecr enhanced registry", finding.Pass, "registry", one("ecr.image_scanning", TypeECRRepository, `{"ImageScanningConfiguration":{"ScanOnPush":false}}`, nil, regScan(`{"ScanningConfiguration":{"ScanType":"ENHANCED"}}`))},
		{"ecr no scanning", finding.Fail, "", one("ecr.image_scanning", TypeECRRepository, `{"ImageScanningConfiguration":{"ScanOnPush":false}}`, nil, regScan(`{"ScanningConfiguration":{"ScanType":"BASIC","Rules":[]}}`))},
		{"ecr registry unknown", finding.Error, "", func(t *testing.T) Result {
			return evalOne(t, "ecr.image_scanning", newTestEnv(withCoverage(cov, TypeECRRegistryScanning, store.CoverageDenied, "AccessDenied")),
				res(TypeECRRepository, "arn:aws:ecr:us-east-1:111122223333:repository/r", `{"ImageScanningConfiguration":{"ScanOnPush":false}}`, nil))
		}},
		{"ecr immutable", finding.Pass, "", one("ecr.tag_immutability", TypeECRRepository, `{"ImageTagMutability":"IMMUTABLE"}`, nil)},
		{"ecr lifecycle denied", finding.Error, "", one("ecr.lifecycle_policy", TypeECRRepository, `{}`, map[string]string{"LifecyclePolicy": "access denied"})},
		{"eks public", finding.Fail, "0.0.0.0/0", one("eks.endpoint_not_public", TypeEKSCluster, `{"ResourcesVpcConfig":{"EndpointPublicAccess":true,"PublicAccessCidrs":["0.0.0.0/0"]}}`, nil)},
		{"eks describe failed", finding.Error, "Cluster", one("eks.endpoint_not_public", TypeEKSCluster, `{"Name":"c"}`, map[string]string{"Cluster": "access denied"})},
		{"eks 1.31", finding.Pass, "", one("eks.supported_version", TypeEKSCluster, `{"Version":"1.31"}`, nil)},
		{"eks 1.9 old", finding.Fail, "", one("eks.supported_version", TypeEKSCluster, `{"Version":"1.9"}`, nil)},
		{"eks audit", finding.Pass, "", one("eks.audit_logging", TypeEKSCluster, `{"Logging":{"ClusterLogging":[{"Enabled":true,"Types":["api","audit"]}]}}`, nil)},
		{"efs unencrypted", finding.Fail, "", one("efs.encrypted", TypeEFSFileSystem, `{"Encrypted":false}`, nil)},
		{"alb drop headers", finding.Pass, "", one("elb.drop_invalid_headers", TypeLoadBalancer, `{"Type":"application","Attributes":{"routing.http.drop_invalid_header_fields.enabled":"true"}}`, nil)},
		{"alb keep headers", finding.Fail, "", one("elb.drop_invalid_headers", TypeLoadBalancer, `{"Type":"application","Attributes":{"routing.http.drop_invalid_header_fields.enabled":"false"}}`, nil)},
		{"alb attrs denied", finding.Error, "", one("elb.deletion_protection", TypeLoadBalancer, `{"Type":"application"}`, map[string]string{"Attributes": "access denied"})},
		{"alb http no redirect", finding.Fail, "port 80", one("elb.http_redirects_to_https", TypeListener, `{"ListenerArn":"arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/web/1/2","Protocol":"HTTP","Port":80,"DefaultActions":[{"Type":"forward"}]}`, nil)},
		{"alb http redirect", finding.Pass, "", one("elb.http_redirects_to_https", TypeListener, `{"ListenerArn":"arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/web/1/2","Protocol":"HTTP","Port":80,"DefaultActions":[{"Type":"redirect","RedirectConfig":{"Protocol":"HTTPS"}}]}`, nil)},
		{"nlb listener out of scope", "", "", one("elb.http_redirects_to_https", TypeListener, `{"ListenerArn":"arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/net/n/1/2","Protocol":"TCP","Port":80}`, nil)},
		{"ssm managed", finding.Pass, "", func(t *testing.T) Result {
			return evalOne(t, "ssm.instance_managed", newTestEnv(cov, ssmInstance), res(TypeInstance, "arn:aws:ec2:us-east-1:111122223333:instance/i-1", `{"InstanceId":"i-1","State":{"Name":"running"}}`, nil))
		}},
		{"ssm unmanaged", finding.Fail, "", func(t *testing.T) Result {
			return evalOne(t, "ssm.instance_managed", newTestEnv(cov, ssmInstance), res(TypeInstance, "arn:aws:ec2:us-east-1:111122223333:instance/i-2", `{"InstanceId":"i-2","State":{"Name":"running"}}`, nil))
		}},
		{"ssm denied", finding.Error, "", func(t *testing.T) Result {
			return evalOne(t, "ssm.instance_managed", newTestEnv(withCoverage(cov, TypeSSMManagedInstance, store.CoverageDenied, "AccessDenied")), res(TypeInstance, "arn:aws:ec2:us-east-1:111122223333:instance/i-2", `{"InstanceId":"i-2","State":{"Name":"running"}}`, nil))
		}},
	})
}
