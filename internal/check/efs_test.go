package check

import (
	"testing"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/store"
)

func TestEFSAndAccountChecks(t *testing.T) {
	cov := okCoverage()
	fs := func(id, cfg string, errs map[string]string) func(t *testing.T) Result {
		return func(t *testing.T) Result {
			return evalOne(t, id, newTestEnv(cov), res(TypeEFSFileSystem, "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-1", cfg, errs))
		}
	}
	ap := func(id, cfg string) func(t *testing.T) Result {
		return func(t *testing.T) Result {
			return evalOne(t, id, newTestEnv(cov), res(TypeEFSAccessPoint, "arn:aws:elasticfilesystem:us-east-1:111122223333:access-point/fsap-1", cfg, nil))
		}
	}
	contacts := func(cfg string, cov []store.Coverage) func(t *testing.T) Result {
		return func(t *testing.T) Result {
			e := newTestEnv(cov)
			if cfg != "" {
				e.Add(res(TypeAlternateContacts, "arn:aws:account::111122223333:alternate-contacts", cfg, nil))
			}
			r := evalUnit(t, "account.security_contact", e, "global")
			if r.ARN != "arn:aws:account::111122223333:alternate-contacts" && r.Status != finding.Error {
				t.Errorf("subject %q", r.ARN)
			}
			return r
		}
	}
	runCases(t, []tcase{
		{"efs encrypted", finding.Pass, "", fs("efs.encrypted", `{"Encrypted":true}`, nil)},
		{"efs not encrypted", finding.Fail, "not encrypted", fs("efs.encrypted", `{"Encrypted":false}`, nil)},
		{"efs garbage", finding.Error, "", fs("efs.encrypted", `"x"`, nil)},
		{"efs backups on", finding.Pass, "ENABLED", fs("efs.backup_policy", `{"BackupPolicy":{"Status":"ENABLED"}}`, nil)},
		{"efs backups off", finding.Fail, "DISABLED", fs("efs.backup_policy", `{"BackupPolicy":{"Status":"DISABLED"}}`, nil)},
		{"efs no backup policy", finding.Fail, "never enabled", fs("efs.backup_policy", `{"BackupPolicy":null}`, nil)},
		{"efs backup policy denied", finding.Error, "BackupPolicy", fs("efs.backup_policy", `{"BackupPolicy":null}`, map[string]string{"BackupPolicy": "access denied"})},
		{"ap root dir", finding.Pass, "/app", ap("efs.access_point_root_directory", `{"RootDirectory":{"Path":"/app"}}`)},
		{"ap root is /", finding.Fail, "whole file system", ap("efs.access_point_root_directory", `{"RootDirectory":{"Path":"/"}}`)},
		{"ap no root dir", finding.Fail, "", ap("efs.access_point_root_directory", `{"AccessPointId":"fsap-1"}`)},
		{"ap root garbage", finding.Error, "", ap("efs.access_point_root_directory", `[1]`)},
		{"ap posix user", finding.Pass, "", ap("efs.access_point_user_identity", `{"PosixUser":{"Uid":1000,"Gid":1000}}`)},
		{"ap posix uid 0 still enforced", finding.Pass, "", ap("efs.access_point_user_identity", `{"PosixUser":{"Uid":0,"Gid":0}}`)},
		{"ap no posix user", finding.Fail, "no POSIX user", ap("efs.access_point_user_identity", `{"PosixUser":null}`)},
		{"ap user garbage", finding.Error, "", ap("efs.access_point_user_identity", `"x"`)},
		{"security contact set", finding.Pass, "sec@example.com", contacts(`{"SECURITY":{"EmailAddress":"sec@example.com","Name":"Sec"},"BILLING":null}`, cov)},
		{"no security contact", finding.Fail, "no security contact", contacts(`{"SECURITY":null,"BILLING":{"EmailAddress":"b@example.com"}}`, cov)},
		{"contacts denied", finding.Error, "denied", contacts("", withCoverage(cov, TypeAlternateContacts, store.CoverageDenied, "AccessDenied"))},
		{"contacts garbage", finding.Error, "", contacts(`"x"`, cov)},
	})
}
