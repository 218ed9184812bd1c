-- Address-bearing rules of a scan (security group rules, network ACL entries, bucket policy
-- IP conditions), one row per CIDR, normalized so that `yagura find` answers containment
-- queries with index lookups instead of reading every rule.
-- net_start/net_end: the first and last address of the CIDR as 16 bytes (IPv4 as IPv4-mapped
-- IPv6), so that blob order is address order for both families.
-- WITHOUT ROWID, keyed by (scan, family, prefix length, network start): the rules a point lookup
-- finds are stored together in the key's b-tree leaves, so a lookup reads a few adjacent pages
-- instead of one random table page per rule.
CREATE TABLE netrules (
  scan_id        INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
  family         INTEGER NOT NULL,           -- 4 | 6
  prefix_len     INTEGER NOT NULL,           -- in the family's own bits (0-32 or 0-128)
  net_start      BLOB NOT NULL,
  seq            INTEGER NOT NULL,           -- order of extraction, unique within the scan
  net_end        BLOB NOT NULL,
  account_id     TEXT NOT NULL,
  region         TEXT NOT NULL,
  resource_arn   TEXT NOT NULL,
  resource_type  TEXT NOT NULL,
  resource_name  TEXT NOT NULL DEFAULT '',
  kind           TEXT NOT NULL,              -- security-group | network-acl | s3-bucket-policy
  direction      TEXT NOT NULL DEFAULT '',   -- ingress | egress
  protocol       TEXT NOT NULL DEFAULT '',   -- as AWS wrote it: -1, tcp, 6, icmp, ...
  from_port      INTEGER NOT NULL DEFAULT -1,
  to_port        INTEGER NOT NULL DEFAULT -1,
  rule_number    INTEGER NOT NULL DEFAULT 0, -- network ACL entry number
  action         TEXT NOT NULL DEFAULT '',   -- allow | deny
  rule_id        TEXT NOT NULL DEFAULT '',   -- sgr-…, or the statement's index for policies
  description    TEXT NOT NULL DEFAULT '',
  sid            TEXT NOT NULL DEFAULT '',
  effect         TEXT NOT NULL DEFAULT '',
  condition      TEXT NOT NULL DEFAULT '',   -- IpAddress | NotIpAddress (policy operator as written)
  cidr           TEXT NOT NULL,              -- the CIDR as written in the rule
  prefix_list_id TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (scan_id, family, prefix_len, net_start, seq)
) WITHOUT ROWID;
CREATE INDEX netrules_kind ON netrules (scan_id, kind, condition);

-- One row per scan whose rules were extracted (a scan may have none), with the prefix lengths
-- present, so that a query looks up only the lengths that exist.
CREATE TABLE netrule_scans (
  scan_id    INTEGER PRIMARY KEY REFERENCES scans(id) ON DELETE CASCADE,
  rules      INTEGER NOT NULL,
  prefixes   TEXT NOT NULL DEFAULT '{}',     -- {"4":[0,16,24,32],"6":[0,64]}
  indexed_at TEXT NOT NULL
);
