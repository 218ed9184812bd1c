-- The overview scores every scan from its results by status and severity (store.ScoreOf): with
-- this covering index that is one index range per scan instead of a table lookup per result
-- (100k results: ~1 s → tens of ms).
CREATE INDEX scan_findings_score ON scan_findings (scan_id, status, severity);

-- The risk queue (`yagura top`, /risks) reads open failing findings by score: in index order it
-- stops after one page instead of sorting every failing finding, and counts them from the index.
CREATE INDEX findings_risk_queue ON findings (status, risk_score DESC, severity DESC, id);
CREATE INDEX findings_status_lifecycle ON findings (status, lifecycle);

-- The checks catalog counts each check's results by status from the index alone.
CREATE INDEX findings_check_status ON findings (check_id, status, lifecycle);
