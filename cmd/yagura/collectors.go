package main

// The collectors compiled into yagura; each package registers its collectors in init.
import (
	_ "github.com/yagura-dev/yagura/internal/collect/accessanalyzer"
	_ "github.com/yagura-dev/yagura/internal/collect/account"
	_ "github.com/yagura-dev/yagura/internal/collect/cloudtrail"
	_ "github.com/yagura-dev/yagura/internal/collect/cloudwatch"
	_ "github.com/yagura-dev/yagura/internal/collect/configsvc"
	_ "github.com/yagura-dev/yagura/internal/collect/ec2"
	_ "github.com/yagura-dev/yagura/internal/collect/ecr"
	_ "github.com/yagura-dev/yagura/internal/collect/efs"
	_ "github.com/yagura-dev/yagura/internal/collect/eks"
	_ "github.com/yagura-dev/yagura/internal/collect/elbv2"
	_ "github.com/yagura-dev/yagura/internal/collect/guardduty"
	_ "github.com/yagura-dev/yagura/internal/collect/iam"
	_ "github.com/yagura-dev/yagura/internal/collect/inspector2"
	_ "github.com/yagura-dev/yagura/internal/collect/kms"
	_ "github.com/yagura-dev/yagura/internal/collect/lambda"
	_ "github.com/yagura-dev/yagura/internal/collect/organizations"
	_ "github.com/yagura-dev/yagura/internal/collect/rds"
	_ "github.com/yagura-dev/yagura/internal/collect/s3"
	_ "github.com/yagura-dev/yagura/internal/collect/securityhub"
	_ "github.com/yagura-dev/yagura/internal/collect/ssm"
)
