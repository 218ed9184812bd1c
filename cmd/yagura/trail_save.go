package main

import (
	"context"
	"errors"

	"github.com/yagura-dev/yagura/internal/trail"
)

// saveAlerts would store alerts as findings (source cloudtrail).
//
// TODO(trail): internal/store has no method to write findings yet; once it does, convert with
// (*trail.Alert).Finding() and write them here. Until then --save refuses rather than pretends.
func saveAlerts(_ context.Context, alerts []*trail.Alert) error {
	_ = alerts
	return errors.New("--save: the database cannot store findings yet (internal/store has no findings writer); use --format json")
}
