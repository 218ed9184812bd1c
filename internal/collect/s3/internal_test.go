package s3

import (
	"testing"

	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

func TestKMSKeyOfBucket(t *testing.T) {
	tg := &collect.Target{AccountID: "111122223333", Partition: "aws"}
	for _, c := range []struct{ name, config, want string }{
		{"key id", `{"Encryption":{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms","KMSMasterKeyID":"1234abcd"}}]}}`,
			"arn:aws:kms:eu-west-1:111122223333:key/1234abcd"},
		{"alias", `{"Encryption":{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms","KMSMasterKeyID":"alias/data"}}]}}`,
			"arn:aws:kms:eu-west-1:111122223333:alias/data"},
		{"arn in another account", `{"Encryption":{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms:dsse","KMSMasterKeyID":"arn:aws:kms:eu-west-1:444455556666:key/x"}}]}}`,
			"arn:aws:kms:eu-west-1:444455556666:key/x"},
		{"aws managed key", `{"Encryption":{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms"}}]}}`, ""},
		{"SSE-S3", `{"Encryption":{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}}`, ""},
		{"not configured", `{"Encryption":null}`, ""},
	} {
		r := &inventory.Resource{Region: "eu-west-1", Config: []byte(c.config)}
		got := ""
		if k := kmsKeyOf(r); k != "" {
			got = keyARN(tg, r.Region, k)
		}
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
