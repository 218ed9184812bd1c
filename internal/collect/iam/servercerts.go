package iam

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/yagura-dev/yagura/internal/collect"
)

// TypeServerCertificate is an SSL/TLS certificate uploaded to IAM (for CloudFront or load
// balancers in regions without ACM); checks judge its expiry.
const TypeServerCertificate = "AWS::IAM::ServerCertificate"

func init() {
	collect.Register(&collect.Collector{Name: "iam.server-certificates", Service: "iam", Global: true,
		Actions: []string{"iam:ListServerCertificates"}, ResourceTypes: []string{TypeServerCertificate}, Run: runServerCertificates})
}

// runServerCertificates writes one resource per certificate: the listing's metadata already
// holds the expiry, so no per-certificate call (and no private data) is needed.
func runServerCertificates(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	p := awsiam.NewListServerCertificatesPaginator(awsiam.NewFromConfig(t.Config), &awsiam.ListServerCertificatesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, c := range page.ServerCertificateMetadataList {
			name := aws.ToString(c.ServerCertificateName)
			arn := aws.ToString(c.Arn)
			if arn == "" {
				arn = AccountARN(t.Partition, t.AccountID, "server-certificate"+aws.ToString(c.Path)+name)
			}
			if err := put(t, sink, arn, TypeServerCertificate, name, nil, c, nil); err != nil {
				return err
			}
		}
	}
	return nil
}
