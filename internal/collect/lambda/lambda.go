// Package lambda collects the configuration of AWS Lambda functions: runtime, execution role,
// network placement, resource-based policy and function URLs.
package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// TypeFunction is the resource type produced here.
const TypeFunction = "AWS::Lambda::Function"

func init() {
	collect.Register(&collect.Collector{
		Name:    "lambda.functions",
		Service: "lambda",
		Actions: []string{
			"lambda:ListFunctions", "lambda:ListTags", "lambda:GetPolicy", "lambda:ListFunctionUrlConfigs",
		},
		ResourceTypes: []string{TypeFunction},
		Run:           collectFunctions,
	})
}

// functionConfig is the function as ListFunctions describes it plus follow-up reads.
type functionConfig struct {
	*types.FunctionConfiguration
	// Policy is the resource-based policy document (parsed), null when the function has none.
	Policy json.RawMessage
	// FunctionUrlConfigs lists the function's URLs (of the function and of its aliases), with
	// AuthType NONE meaning anyone on the internet can invoke it.
	FunctionUrlConfigs []types.FunctionUrlConfig
}

func collectFunctions(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := lambda.NewFromConfig(t.Config)
	p := lambda.NewListFunctionsPaginator(client, &lambda.ListFunctionsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for i := range page.Functions {
			if err := putFunction(ctx, t, client, sink, &page.Functions[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

func putFunction(ctx context.Context, t *collect.Target, client *lambda.Client, sink collect.Sink, fn *types.FunctionConfiguration) error {
	arn := aws.ToString(fn.FunctionArn)
	r := &inventory.Resource{
		ARN:       arn,
		Type:      TypeFunction,
		AccountID: t.AccountID,
		Region:    t.Region,
		Name:      aws.ToString(fn.FunctionName),
	}
	fail := func(attr string, err error) {
		_, reason := awsx.Classify(err)
		setError(r, attr, reason)
	}
	cfg := functionConfig{FunctionConfiguration: redactEnvironment(fn)}

	if out, err := client.ListTags(ctx, &lambda.ListTagsInput{Resource: fn.FunctionArn}); err != nil {
		fail("Tags", err)
	} else if len(out.Tags) > 0 {
		r.Tags = out.Tags
	}

	out, err := client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: fn.FunctionArn})
	var notFound *types.ResourceNotFoundException
	switch {
	case errors.As(err, &notFound):
		// No resource-based policy: only the account itself can invoke the function.
	case err != nil:
		fail("Policy", err)
	case json.Valid([]byte(aws.ToString(out.Policy))):
		cfg.Policy = json.RawMessage(aws.ToString(out.Policy))
	default:
		setError(r, "Policy", "policy document is not valid JSON")
	}

	urls := lambda.NewListFunctionUrlConfigsPaginator(client, &lambda.ListFunctionUrlConfigsInput{FunctionName: fn.FunctionArn})
	cfg.FunctionUrlConfigs = []types.FunctionUrlConfig{}
	for urls.HasMorePages() {
		page, err := urls.NextPage(ctx)
		if err != nil {
			cfg.FunctionUrlConfigs = nil
			fail("FunctionUrlConfigs", err)
			break
		}
		cfg.FunctionUrlConfigs = append(cfg.FunctionUrlConfigs, page.FunctionUrlConfigs...)
	}

	r.Config = inventory.MarshalConfig(cfg)
	r.CollectedAt = time.Now().UTC()
	if err := sink.PutResource(r); err != nil {
		return err
	}
	var rels []inventory.Relationship
	if fn.Role != nil {
		rels = append(rels, inventory.Relationship{From: arn, To: aws.ToString(fn.Role), Kind: inventory.RelAssumesRole})
	}
	if v := fn.VpcConfig; v != nil {
		for _, sg := range v.SecurityGroupIds {
			rels = append(rels, inventory.Relationship{From: arn, To: t.ARN("ec2", t.Region, "security-group/"+sg), Kind: inventory.RelUsesSecurityGroup})
		}
		for _, sn := range v.SubnetIds {
			rels = append(rels, inventory.Relationship{From: arn, To: t.ARN("ec2", t.Region, "subnet/"+sn), Kind: inventory.RelInSubnet})
		}
	}
	if fn.KMSKeyArn != nil {
		rels = append(rels, inventory.Relationship{From: arn, To: aws.ToString(fn.KMSKeyArn), Kind: inventory.RelEncryptedBy})
	}
	for _, rel := range rels {
		if err := sink.PutRelationship(rel); err != nil {
			return err
		}
	}
	return nil
}

func setError(r *inventory.Resource, attr, reason string) {
	if r.Errors == nil {
		r.Errors = map[string]string{}
	}
	r.Errors[attr] = reason
}

// redactEnvironment keeps the names of a function's environment variables but not their values:
// they often hold secrets, and the inventory must not become a copy of them.
func redactEnvironment(fn *types.FunctionConfiguration) *types.FunctionConfiguration {
	if fn.Environment == nil || len(fn.Environment.Variables) == 0 {
		return fn
	}
	c := *fn
	env := *fn.Environment
	env.Variables = make(map[string]string, len(fn.Environment.Variables))
	for k := range fn.Environment.Variables {
		env.Variables[k] = "(redacted by yagura)"
	}
	c.Environment = &env
	return &c
}
