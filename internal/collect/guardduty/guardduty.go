// Package guardduty collects whether Amazon GuardDuty is enabled in each account and region,
// and how its detectors are configured (protection plans, publishing frequency). GuardDuty's
// findings are collected elsewhere.
package guardduty

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/guardduty/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// Resource types produced here.
const (
	TypeDetector      = "AWS::GuardDuty::Detector"
	TypeAccountStatus = "AWS::GuardDuty::AccountStatus"
)

func init() {
	collect.Register(&collect.Collector{
		Name:          "guardduty.detectors",
		Service:       "guardduty",
		Actions:       []string{"guardduty:ListDetectors", "guardduty:GetDetector"},
		ResourceTypes: []string{TypeDetector, TypeAccountStatus},
		Run:           collectDetectors,
	})
}

// detectorConfig is GetDetector's answer plus the detector's id.
type detectorConfig struct {
	*guardduty.GetDetectorOutput
	// ResultMetadata shadows the SDK's call metadata, which is not part of the detector.
	ResultMetadata *struct{} `json:",omitempty"`
	DetectorId     string
}

// accountStatus says whether GuardDuty watches this account-region: a region without a
// detector is a coverage gap checks report by name.
type accountStatus struct {
	Enabled     bool
	DetectorIds []string
}

// AccountStatusARN is the synthetic ARN of the GuardDuty status of an account-region.
func AccountStatusARN(t *collect.Target) string {
	return t.ARN("guardduty", t.Region, "account-status")
}

func collectDetectors(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	client := guardduty.NewFromConfig(t.Config)
	status := accountStatus{DetectorIds: []string{}}
	var unknown []string // why a detector's status could not be read
	p := guardduty.NewListDetectorsPaginator(client, &guardduty.ListDetectorsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, id := range page.DetectorIds {
			status.DetectorIds = append(status.DetectorIds, id)
			r := &inventory.Resource{
				ARN:       t.ARN("guardduty", t.Region, "detector/"+id),
				Type:      TypeDetector,
				AccountID: t.AccountID,
				Region:    t.Region,
				Name:      id,
			}
			out, err := client.GetDetector(ctx, &guardduty.GetDetectorInput{DetectorId: aws.String(id)})
			if err != nil {
				_, reason := awsx.Classify(err)
				unknown = append(unknown, reason)
				r.Config = inventory.MarshalConfig(map[string]any{"DetectorId": id})
				r.Errors = map[string]string{"Detector": reason}
			} else {
				if out.Status == types.DetectorStatusEnabled {
					status.Enabled = true
				}
				if len(out.Tags) > 0 {
					r.Tags = out.Tags
				}
				r.Config = inventory.MarshalConfig(detectorConfig{GetDetectorOutput: out, DetectorId: id})
			}
			r.CollectedAt = time.Now().UTC()
			if err := sink.PutResource(r); err != nil {
				return err
			}
		}
	}
	r := &inventory.Resource{
		ARN:         AccountStatusARN(t),
		Type:        TypeAccountStatus,
		AccountID:   t.AccountID,
		Region:      t.Region,
		Name:        "guardduty",
		Config:      inventory.MarshalConfig(status),
		CollectedAt: time.Now().UTC(),
	}
	// A detector exists but none could be read as enabled: "disabled" would be a guess.
	if !status.Enabled && len(unknown) > 0 {
		r.Errors = map[string]string{"Enabled": unknown[0]}
	}
	return sink.PutResource(r)
}
