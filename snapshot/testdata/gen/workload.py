#!/usr/bin/python3
"""Drives a throw-away ZooKeeper 3.8.0 server (see gen.sh) so that its
snapshot and txn-log files cover the cases the Go readers must handle.

Usage: workload.py PHASE   (PHASE is a, b, c or d; see gen.sh)
Requires kazoo (Debian: python3-kazoo).
"""
import sys
import time
from kazoo.client import KazooClient
from kazoo.exceptions import NodeExistsError
from kazoo.security import make_digest_acl, make_acl

HOSTS = "127.0.0.1:21810"


def client():
    zk = KazooClient(hosts=HOSTS, timeout=10)
    zk.start()
    return zk


def phase_a():
    zk = client()
    zk.create("/a", b"hello")
    zk.create("/a/b", b"")          # empty data
    zk.create("/a/c", None)         # null data (deleted again below)
    zk.create("/nulldata", None)    # null data that stays
    zk.create("/acl", b"x", acl=[make_digest_acl("u", "p", all=True),
                                  make_acl("world", "anyone", read=True)])
    zk.create("/seq-", b"s", sequence=True)
    try:
        zk.create("/a", b"again")   # NODEEXISTS: logged as an error txn
    except NodeExistsError:
        pass
    zk.set("/a", b"world")
    zk.set_acls("/a/b", [make_acl("world", "anyone", read=True, write=True)])
    t = zk.transaction()           # successful multi
    t.create("/m1", b"m")
    t.set_data("/a", b"multi")
    t.delete("/a/c")
    t.commit()
    t = zk.transaction()           # failed multi (second op fails)
    t.create("/m2", b"m")
    t.create("/a", b"dup")
    t.set_data("/a", b"never")
    t.commit()
    zk.create("/\u00fcnicode", "d\u00e4ta \U0001F600".encode("utf-8"))

    # an ephemeral that goes away with an explicit closeSession
    e = client()
    e.create("/e1", b"eph", ephemeral=True)
    e.stop()
    e.close()

    # enough txns to roll the log at least once (snapCount=20)
    zk.create("/n", b"")
    for i in range(30):
        zk.create("/n/%03d" % i, b"%d" % i)
    for i in range(0, 30, 3):
        zk.delete("/n/%03d" % i)
    zk.delete("/a/b")

    # leave a live session with an ephemeral: the server is killed with it
    # open, so the next startup snapshot carries the session
    keep = client()
    keep.create("/e2", b"still here", ephemeral=True)
    zk.stop()
    print("READY", flush=True)
    time.sleep(3600)   # hold keep's session until gen.sh kills the server


def phase_small(tag):
    zk = client()
    zk.create("/" + tag, tag.encode())
    zk.set("/n/001", b"updated " + tag.encode())
    zk.stop()


if __name__ == "__main__":
    p = sys.argv[1]
    if p == "a":
        phase_a()
    else:
        phase_small(p)
