-- Mutes set from the dashboard: one per finding, with the reason and an optional expiry.
-- A mute accepts a known risk; it never changes the finding's status.
CREATE TABLE web_mutes (
  finding_id TEXT PRIMARY KEY,
  reason     TEXT NOT NULL,
  expires    TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL
);

-- The findings page and the API list findings most severe first in this exact order
-- (EachFinding); with the index, a page of FAIL findings is read in order and stops at LIMIT
-- instead of sorting every failing finding (100k findings: seconds → milliseconds).
CREATE INDEX findings_page_order ON findings (status, severity DESC, account_id, region, check_id, resource_arn, id);

-- The overview lists what the latest scan resolved: an index seek instead of reading the
-- history of every finding.
CREATE INDEX finding_events_by_scan ON finding_events (scan_id, event);
