-- Scans, accounts and coverage: what was looked at, when, and what could not be seen.
CREATE TABLE scans (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at     TEXT NOT NULL,
  finished_at    TEXT,
  status         TEXT NOT NULL,            -- running | complete | partial | interrupted | failed
  status_reason  TEXT NOT NULL DEFAULT '',
  caller_arn     TEXT NOT NULL DEFAULT '',
  caller_account TEXT NOT NULL DEFAULT '',
  org_id         TEXT NOT NULL DEFAULT '',
  options        TEXT NOT NULL DEFAULT '{}',
  pid            INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE accounts (
  scan_id       INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
  account_id    TEXT NOT NULL,
  name          TEXT NOT NULL DEFAULT '',
  email         TEXT NOT NULL DEFAULT '',
  ou_path       TEXT NOT NULL DEFAULT '',
  tags          TEXT NOT NULL DEFAULT '{}',
  status        TEXT NOT NULL DEFAULT '',  -- Organizations status, e.g. ACTIVE
  access        TEXT NOT NULL DEFAULT '',  -- self | assumed | denied | error
  access_reason TEXT NOT NULL DEFAULT '',
  regions       TEXT NOT NULL DEFAULT '[]',
  PRIMARY KEY (scan_id, account_id)
);

CREATE TABLE coverage (
  scan_id     INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
  account_id  TEXT NOT NULL,
  region      TEXT NOT NULL,
  collector   TEXT NOT NULL,
  service     TEXT NOT NULL,
  status      TEXT NOT NULL,               -- ok | denied | throttled | error | skipped
  reason      TEXT NOT NULL DEFAULT '',
  calls       INTEGER NOT NULL DEFAULT 0,
  throttles   INTEGER NOT NULL DEFAULT 0,
  items       INTEGER NOT NULL DEFAULT 0,
  duration_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (scan_id, account_id, region, collector)
);

-- Inventory: one snapshot of every resource per scan, in the AWS API's own JSON shape.
CREATE TABLE resources (
  scan_id      INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
  arn          TEXT NOT NULL,
  type         TEXT NOT NULL,
  account_id   TEXT NOT NULL,
  region       TEXT NOT NULL,
  name         TEXT NOT NULL DEFAULT '',
  tags         TEXT NOT NULL DEFAULT '{}',
  config       TEXT NOT NULL DEFAULT '{}',
  errors       TEXT NOT NULL DEFAULT '{}',
  collected_at TEXT NOT NULL,
  PRIMARY KEY (scan_id, arn)
);
CREATE INDEX resources_by_type ON resources (scan_id, type, account_id, region);

CREATE TABLE relationships (
  scan_id  INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
  from_arn TEXT NOT NULL,
  to_arn   TEXT NOT NULL,
  kind     TEXT NOT NULL,
  PRIMARY KEY (scan_id, from_arn, kind, to_arn)
);
CREATE INDEX relationships_to ON relationships (scan_id, to_arn);

-- Findings: the current state of every finding ever seen (stable id), and per-scan membership.
CREATE TABLE findings (
  id            TEXT PRIMARY KEY,
  check_id      TEXT NOT NULL DEFAULT '',
  source        TEXT NOT NULL,
  sources       TEXT NOT NULL DEFAULT '[]',
  source_id     TEXT NOT NULL DEFAULT '',
  controls      TEXT NOT NULL DEFAULT '[]',
  status        TEXT NOT NULL,
  severity      INTEGER NOT NULL,
  account_id    TEXT NOT NULL DEFAULT '',
  region        TEXT NOT NULL DEFAULT '',
  resource_arn  TEXT NOT NULL DEFAULT '',
  resource_type TEXT NOT NULL DEFAULT '',
  title         TEXT NOT NULL DEFAULT '',
  detail        TEXT NOT NULL DEFAULT '',
  evidence      TEXT NOT NULL DEFAULT 'null',
  remediation   TEXT NOT NULL DEFAULT '',
  collector     TEXT NOT NULL DEFAULT '',
  first_seen    TEXT NOT NULL,
  last_seen     TEXT NOT NULL,
  lifecycle     TEXT NOT NULL,
  stale         INTEGER NOT NULL DEFAULT 0,
  stale_reason  TEXT NOT NULL DEFAULT '',
  last_scan_id  INTEGER NOT NULL DEFAULT 0,
  risk          TEXT NOT NULL DEFAULT 'null',
  risk_score    REAL NOT NULL DEFAULT 0
);
CREATE INDEX findings_filter ON findings (status, severity, account_id);
CREATE INDEX findings_resource ON findings (resource_arn);
CREATE INDEX findings_check ON findings (check_id);
CREATE INDEX findings_risk ON findings (risk_score DESC);

CREATE TABLE scan_findings (
  scan_id    INTEGER NOT NULL,
  finding_id TEXT NOT NULL,
  status     TEXT NOT NULL,
  severity   INTEGER NOT NULL,
  PRIMARY KEY (scan_id, finding_id)
);

CREATE TABLE finding_events (
  finding_id TEXT NOT NULL,
  scan_id    INTEGER NOT NULL,
  at         TEXT NOT NULL,
  event      TEXT NOT NULL,  -- new | resolved | reopened | status | stale | muted | note
  detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX finding_events_by_finding ON finding_events (finding_id);
