package trail

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// TrailLocation is where a trail delivers its logs.
type TrailLocation struct {
	Name, ARN, HomeRegion, Bucket, Prefix string
	Organization                          bool
}

// FindOrgTrail asks CloudTrail for the trails visible from the caller and picks the organization
// trail (or, without one, the only multi-region trail), so users need not know the bucket.
func FindOrgTrail(ctx context.Context, cfg aws.Config) (*TrailLocation, error) {
	out, err := cloudtrail.NewFromConfig(cfg).DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	var multi []*TrailLocation
	for _, t := range out.TrailList {
		loc := &TrailLocation{Name: aws.ToString(t.Name), ARN: aws.ToString(t.TrailARN), HomeRegion: aws.ToString(t.HomeRegion),
			Bucket: aws.ToString(t.S3BucketName), Prefix: aws.ToString(t.S3KeyPrefix), Organization: aws.ToBool(t.IsOrganizationTrail)}
		if loc.Organization {
			return loc, nil
		}
		if aws.ToBool(t.IsMultiRegionTrail) {
			multi = append(multi, loc)
		}
	}
	if len(multi) == 1 {
		return multi[0], nil
	}
	return nil, errors.New("no organization trail found: pass --bucket (and --prefix) or --dir")
}
