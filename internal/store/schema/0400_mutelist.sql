-- The YAML mutelist kept in the database (`yagura mutelist import`): one document, replaced
-- whole on import, so that `yagura findings`, exports and the dashboard apply the same list
-- without every user passing --mutelist. The text is stored as imported (comments kept) and
-- parsed again on every read.
CREATE TABLE mutelist (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  document    TEXT NOT NULL,
  source      TEXT NOT NULL DEFAULT '',
  imported_at TEXT NOT NULL
);
