-- Mutes set from the dashboard: one per finding, with the reason and an optional expiry.
-- A mute accepts a known risk; it never changes the finding's status.
CREATE TABLE web_mutes (
  finding_id TEXT PRIMARY KEY,
  reason     TEXT NOT NULL,
  expires    TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL
);
