// Package ecr collects the configuration of Amazon ECR: repositories (scanning, tag
// mutability, encryption, repository and lifecycle policies) and the registry's scanning
// configuration.
package ecr

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// Resource types produced here.
const (
	TypeRepository                    = "AWS::ECR::Repository"
	TypeRegistryScanningConfiguration = "AWS::ECR::RegistryScanningConfiguration"
)

func init() {
	collect.Register(&collect.Collector{
		Name:    "ecr.repositories",
		Service: "ecr",
		Actions: []string{
			"ecr:DescribeRepositories", "ecr:ListTagsForResource", "ecr:GetRepositoryPolicy", "ecr:GetLifecyclePolicy",
		},
		ResourceTypes: []string{TypeRepository},
		Run:           collectRepositories,
	})
	collect.Register(&collect.Collector{
		Name:          "ecr.registry-scanning",
		Service:       "ecr",
		Actions:       []string{"ecr:GetRegistryScanningConfiguration"},
		ResourceTypes: []string{TypeRegistryScanningConfiguration},
		Run:           collectRegistryScanning,
	})
}

type repositoryConfig struct {
	*types.Repository
	// Policy is the repository policy (parsed), null when the repository has none.
	Policy json.RawMessage
	// LifecyclePolicy is the lifecycle policy text (parsed), null when there is none.
	LifecyclePolicy json.RawMessage
}

func setError(r *inventory.Resource, attr string, err error) {
	if r.Errors == nil {
		r.Errors = map[string]string{}
	}
	_, r.Errors[attr] = awsx.Classify(err)
}

// parsed keeps a policy document as JSON; a document that does not parse is reported rather
// than stored as a string checks would misread.
func parsed(r *inventory.Resource, attr, doc string) json.RawMessage {
	if json.Valid([]byte(doc)) {
		return json.RawMessage(doc)
	}
	setError(r, attr, errors.New("policy document is not valid JSON"))
	return nil
}

func collectRepositories(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := ecr.NewFromConfig(t.Config)
	p := ecr.NewDescribeRepositoriesPaginator(client, &ecr.DescribeRepositoriesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for i := range page.Repositories {
			repo := &page.Repositories[i]
			r := &inventory.Resource{
				ARN:       aws.ToString(repo.RepositoryArn),
				Type:      TypeRepository,
				AccountID: t.AccountID,
				Region:    t.Region,
				Name:      aws.ToString(repo.RepositoryName),
			}
			cfg := repositoryConfig{Repository: repo}
			if out, err := client.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: repo.RepositoryArn}); err != nil {
				setError(r, "Tags", err)
			} else if len(out.Tags) > 0 {
				r.Tags = map[string]string{}
				for _, tag := range out.Tags {
					r.Tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
				}
			}
			var noPolicy *types.RepositoryPolicyNotFoundException
			pol, err := client.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RepositoryName: repo.RepositoryName, RegistryId: repo.RegistryId})
			switch {
			case errors.As(err, &noPolicy):
			case err != nil:
				setError(r, "Policy", err)
			default:
				cfg.Policy = parsed(r, "Policy", aws.ToString(pol.PolicyText))
			}
			var noLifecycle *types.LifecyclePolicyNotFoundException
			lc, err := client.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: repo.RepositoryName, RegistryId: repo.RegistryId})
			switch {
			case errors.As(err, &noLifecycle):
			case err != nil:
				setError(r, "LifecyclePolicy", err)
			default:
				cfg.LifecyclePolicy = parsed(r, "LifecyclePolicy", aws.ToString(lc.LifecyclePolicyText))
			}
			r.Config = inventory.MarshalConfig(cfg)
			r.CollectedAt = time.Now().UTC()
			if err := sink.PutResource(r); err != nil {
				return err
			}
			if e := repo.EncryptionConfiguration; e != nil && e.KmsKey != nil {
				if err := sink.PutRelationship(inventory.Relationship{From: r.ARN, To: aws.ToString(e.KmsKey), Kind: inventory.RelEncryptedBy}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// RegistryScanningARN is the synthetic ARN of an account-region's registry scanning
// configuration (ECR has no ARN for it).
func RegistryScanningARN(t *collect.Target) string {
	return t.ARN("ecr", t.Region, "registry-scanning-configuration")
}

func collectRegistryScanning(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	out, err := ecr.NewFromConfig(t.Config).GetRegistryScanningConfiguration(ctx, &ecr.GetRegistryScanningConfigurationInput{})
	if err != nil {
		return err
	}
	return sink.PutResource(&inventory.Resource{
		ARN:       RegistryScanningARN(t),
		Type:      TypeRegistryScanningConfiguration,
		AccountID: t.AccountID,
		Region:    t.Region,
		Name:      "registry-scanning-configuration",
		Config: inventory.MarshalConfig(struct {
			RegistryId            *string
			ScanningConfiguration *types.RegistryScanningConfiguration
		}{out.RegistryId, out.ScanningConfiguration}),
		CollectedAt: time.Now().UTC(),
	})
}
