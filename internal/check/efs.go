package check

import (
	"encoding/json"

	"github.com/yagura-dev/yagura/internal/finding"
)

// EFS checks read the efs collectors' resources (docs/resource-types/efs.md).

var efsDoc = "https://docs.aws.amazon.com/securityhub/latest/userguide/efs-controls.html"

func init() {
	fieldCheck("efs.encrypted", "Amazon EFS should be configured to encrypt file data at-rest using AWS KMS", TypeEFSFileSystem, []string{"fsbp:EFS.1", "cis-aws-3.0:2.4.1"}, finding.Medium, nil,
		"File data is stored unencrypted.", Remediation{Console: "Create an encrypted file system and migrate the data (encryption cannot be turned on in place)", Doc: "https://docs.aws.amazon.com/efs/latest/ug/encryption.html"},
		boolField("Encrypted", true, "encrypted", "not encrypted"))

	fieldCheck("efs.backup_policy", "Amazon EFS volumes should be in backup plans", TypeEFSFileSystem, []string{"fsbp:EFS.2"}, finding.Medium, []string{"BackupPolicy"},
		"Deleted or corrupted files cannot be restored.",
		Remediation{CLI: "aws efs put-backup-policy --file-system-id FS --backup-policy Status=ENABLED", Console: "EFS > File systems > file system > Edit > Automatic backups: Enabled", Doc: efsDoc},
		func(m map[string]json.RawMessage) (bool, bool, string) {
			var bp *struct{ Status string }
			_ = json.Unmarshal(m["BackupPolicy"], &bp)
			switch {
			case bp == nil:
				return false, false, "no backup policy (automatic backups never enabled)"
			case bp.Status == "ENABLED" || bp.Status == "ENABLING":
				return true, false, "automatic backups " + bp.Status
			}
			return false, false, "automatic backups " + bp.Status
		})

	fieldCheck("efs.access_point_root_directory", "EFS access points should enforce a root directory", TypeEFSAccessPoint, []string{"fsbp:EFS.3"}, finding.Medium, nil,
		"Clients mounting through the access point see the whole file system.",
		Remediation{Console: "Access points cannot be changed: create one with a root directory path other than / and delete this one", CLI: "aws efs create-access-point --file-system-id FS --root-directory Path=/app", Doc: efsDoc},
		func(m map[string]json.RawMessage) (bool, bool, string) {
			var rd *struct{ Path string }
			_ = json.Unmarshal(m["RootDirectory"], &rd)
			if rd == nil || rd.Path == "" || rd.Path == "/" {
				return false, false, "root directory is / (the whole file system)"
			}
			return true, false, "root directory " + rd.Path
		})

	fieldCheck("efs.access_point_user_identity", "EFS access points should enforce a user identity", TypeEFSAccessPoint, []string{"fsbp:EFS.4"}, finding.Medium, nil,
		"Clients act with whatever POSIX identity they claim, including root.",
		Remediation{Console: "Access points cannot be changed: create one with a POSIX user (UID/GID) and delete this one", CLI: "aws efs create-access-point --file-system-id FS --posix-user Uid=1000,Gid=1000", Doc: efsDoc},
		func(m map[string]json.RawMessage) (bool, bool, string) {
			var pu *struct{ Uid, Gid *int64 }
			_ = json.Unmarshal(m["PosixUser"], &pu)
			if pu == nil || pu.Uid == nil || pu.Gid == nil {
				return false, false, "no POSIX user enforced"
			}
			return true, false, "POSIX user enforced"
		})
}
