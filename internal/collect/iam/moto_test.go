package iam_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/yagura-dev/yagura/internal/mototest"
)

// newMoto is mototest.New without AWS_PROFILE in moto's environment: SetTestEnv sets it to "",
// and moto's own botocore then fails every KMS call and every S3 error answer with
// ProfileNotFound (HTTP 500).
func newMoto(t *testing.T) *mototest.Server {
	t.Helper()
	mototest.SetTestEnv(t)
	os.Unsetenv("AWS_PROFILE") // t.Setenv above restores the original value after the test
	// moto knows AWS-managed policies (AdministratorAccess…) only when asked to load them.
	t.Setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
	s, err := mototest.Start(context.Background(), "")
	if errors.Is(err, mototest.ErrMissing) {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v", err)
		}
		t.Skip(err.Error())
	}
	if err != nil {
		t.Fatalf("start moto: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}
