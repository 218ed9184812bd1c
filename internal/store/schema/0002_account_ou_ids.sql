-- Each account's OU path as ids, root first: policies attached to an OU name it by id, and two
-- OUs may share a name.
ALTER TABLE accounts ADD COLUMN ou_ids TEXT NOT NULL DEFAULT '[]';
