// Package trail reads an organization's CloudTrail log archive (S3 or a local copy): it streams
// and decodes the log files, verifies the digest chain that proves nothing was altered or
// deleted, runs Sigma detections over the events, searches them, and writes the Athena
// equivalent of those queries.
//
// # Reading
//
// Objects are listed by the documented key layout,
// [prefix/]AWSLogs/[o-id/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/, one listing per account,
// region and day of the window (accounts and regions are discovered with delimiter listings when
// not given). One goroutine per CPU fetches, gunzips and decodes a whole object at a time, so
// memory is about workers × the largest object. Each record is decoded once into a flat list of
// (dotted path, value) leaves, array indexes dropped, so "a.items.b" names every element; paths
// are interned and values point into the decompressed buffer, so decoding allocates nothing per
// record. An object that cannot be read (truncated gzip, invalid JSON, not {"Records": [...]}) is
// reported with its key and skipped; records decoded before the error in that object have
// already been passed on.
//
// # Verifying
//
// Verifier follows `aws cloudtrail validate-logs` (awscli/customizations/cloudtrail/validation.py):
// digests are walked newest to oldest along previousDigestS3Object; each is checked for its
// location, its public key (by fingerprint, from ListPublicKeys in the digest's region) and its
// SHA256withRSA signature over "endTime\nbucket/key\nsha256(inflated digest)\nprevious signature";
// the log files of valid digests are hashed (SHA-256 of the decompressed bytes). Beyond the CLI it
// checks that each link's previousDigestHashValue and previousDigestSignature match the digest they
// point to, reports gaps (a chain restarting with a null previous digest), log files found under
// another key (moved) and log files no digest lists (uncovered; "pending" when newer than the last
// digest and under two hours old).
//
// # Detections
//
// Rules are Sigma (logsource product aws, service cloudtrail). Supported: field maps and lists of
// maps, keyword lists, null, wildcards * and ? (with \* \? \\ escapes), modifiers contains,
// startswith, endswith, all, re (i, m, s; Go RE2 syntax), cidr, exists, cased, expand (filled from
// Placeholders), fieldref, lt/lte/gt/gte; conditions with and, or, not, parentheses, "N of X*",
// "all of X*", "1 of them", "all of them". String matching is case-insensitive (ASCII folding)
// unless |cased. Thresholds use the legacy Sigma aggregation in the condition,
// "selection | count([field]) [by field] > N" with the rule's timeframe: a group alerts when a
// sliding window of that length holds more than N matching events (or N distinct values of
// field). Sigma correlation rules, near, and other modifiers are reported as not evaluable.
// Rules are indexed by the eventName values they require, so an event meets only the rules that
// can match it.
package trail
