// Package rotest holds the acceptance tests of the read-only observer
// (issue 7): a real 3-voter Apache ZooKeeper ensemble, zkobserver with
// read-only mode on, and kazoo clients (Debian's python3-kazoo) with
// read_only=True, driven through kazoo_driver.py. It has no non-test code
// beyond this comment.
package rotest
