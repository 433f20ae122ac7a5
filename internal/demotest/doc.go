// Package demotest checks `make demo` (scripts/demo.sh): its --check mode
// starts the local ensemble and zkobserver, waits for the first sync and the
// metrics, and stops everything.
package demotest
