package main

import (
	"context"
	"fmt"

	"github.com/yagura-dev/yagura/internal/store"
	"github.com/yagura-dev/yagura/internal/trail"
)

// saveAlerts stores alerts as findings (source cloudtrail) in --db. They join the newest
// finished scan, so they appear beside the configuration findings of the latest picture of the
// organization; without any scan, a scan record is made for the hunt itself. Trail findings
// carry no collector, so finalizing a later scan never marks them resolved by absence.
func saveAlerts(ctx context.Context, alerts []*trail.Alert) (int64, error) {
	db, err := openDB(ctx)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	scans, err := db.Scans(ctx)
	if err != nil {
		return 0, err
	}
	var scanID int64
	for _, s := range scans {
		if s.Status == store.ScanComplete || s.Status == store.ScanPartial {
			scanID = s.ID
			break
		}
	}
	if scanID == 0 {
		if scanID, err = db.CreateScan(ctx, "", "", "", map[string]string{"command": "trail hunt"}); err != nil {
			return 0, err
		}
		defer db.FinishScan(ctx, scanID, store.ScanComplete, "CloudTrail hunt only")
	}
	w := db.NewFindingWriter(scanID)
	for _, a := range alerts {
		f := a.Finding()
		if err := w.Put(&f); err != nil {
			w.Close()
			return 0, fmt.Errorf("save findings: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return 0, fmt.Errorf("save findings: %w", err)
	}
	return scanID, nil
}
