// Package e2e holds the dashboard's end-to-end tests: a demo organization seeded into moto and
// scanned, the dashboard served in-process on loopback, and headless Chromium clicking through
// it (see e2e_test.go). It has no code of its own.
package e2e
