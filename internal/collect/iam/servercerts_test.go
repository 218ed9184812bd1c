package iam_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	iamc "github.com/yagura-dev/yagura/internal/collect/iam"
	"github.com/yagura-dev/yagura/internal/mototest"
)

func TestServerCertificates(t *testing.T) {
	srv := mototest.New(t)
	ctx := context.Background()
	cfg := srv.Config(t, "us-east-1")
	up, err := awsiam.NewFromConfig(cfg).UploadServerCertificate(ctx, &awsiam.UploadServerCertificateInput{
		ServerCertificateName: aws.String("legacy-elb"), Path: aws.String("/cloudfront/"),
		CertificateBody: aws.String(testCertPEM), PrivateKey: aws.String("-----BEGIN PRIVATE KEY-----\nMA==\n-----END PRIVATE KEY-----\n")})
	must(t, err, "UploadServerCertificate")

	s, err := collecttest.Run(t, "iam.server-certificates", cfg, mgmt, "us-east-1")
	must(t, err, "iam.server-certificates")
	certs := s.ByType(iamc.TypeServerCertificate)
	if len(certs) != 1 {
		t.Fatalf("%d certificates, want 1", len(certs))
	}
	r := certs[0]
	m := decode(t, r)
	if r.ARN != aws.ToString(up.ServerCertificateMetadata.Arn) || r.Region != iamc.Region || r.Name != "legacy-elb" {
		t.Errorf("certificate %s region %s name %s", r.ARN, r.Region, r.Name)
	}
	// The check reads the top-level Expiration (moto reports a fixed 2012 date).
	if exp, _ := m["Expiration"].(string); len(exp) < 10 || exp[:4] != "2012" {
		t.Errorf("expiration %v in %s", m["Expiration"], r.Config)
	}
}

// testCertPEM is a syntactically valid PEM block; moto does not parse the certificate.
const testCertPEM = "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n"
