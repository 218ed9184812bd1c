package lambda

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func TestEnvironmentValuesAreNotStored(t *testing.T) {
	fn := &types.FunctionConfiguration{FunctionName: aws.String("f"), Environment: &types.EnvironmentResponse{Variables: map[string]string{"DB_PASSWORD": "hunter2"}}}
	got := redactEnvironment(fn)
	if got.Environment.Variables["DB_PASSWORD"] == "hunter2" {
		t.Fatal("secret value kept")
	}
	if _, ok := got.Environment.Variables["DB_PASSWORD"]; !ok {
		t.Fatal("variable name lost")
	}
	if fn.Environment.Variables["DB_PASSWORD"] != "hunter2" {
		t.Fatal("the SDK's struct was modified in place")
	}
}
