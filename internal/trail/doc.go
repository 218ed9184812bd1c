// Package trail reads an organization's CloudTrail log archive (S3 or a local copy): it streams
// and decodes the log files, verifies the digest chain that proves nothing was altered or
// deleted, runs Sigma detections over the events, searches them, and writes the Athena
// equivalent of those queries.
package trail
