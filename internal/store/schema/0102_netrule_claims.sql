-- Who is extracting a scan's rules right now. The CLI and the dashboard are separate processes
-- that may both find a scan unindexed (right after an upgrade) and start extracting it; their
-- staged rows would mix. The first to insert its row extracts; the others wait for the marker in
-- netrule_scans, and take over a claim whose process is gone.
CREATE TABLE netrule_claims (
  scan_id    INTEGER PRIMARY KEY REFERENCES scans(id) ON DELETE CASCADE,
  pid        INTEGER NOT NULL,
  claimed_at TEXT NOT NULL
);
