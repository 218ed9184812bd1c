package cloudwatch_test

import "github.com/yagura-dev/yagura/internal/collect/collecttest"

// The shared test helpers, under the names these tests use.
const mgmt = collecttest.Mgmt

var (
	memberAccount = collecttest.MemberAccount
	must          = collecttest.Must
	decode        = collecttest.Decode
	regionCfg     = collecttest.RegionConfig
)
