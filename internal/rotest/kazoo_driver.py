# kazoo driver for the read-only observer tests (internal/rotest).
#
# Reads one JSON command per line on stdin and answers each with one JSON
# line {"reply": ...} on stdout; watch events are printed as {"event": ...}
# lines whenever they fire. Every client is a KazooClient from Debian's
# python3-kazoo; a "reader" client reads its paths in a loop on a thread of
# its own and keeps counts, its connection states and every regression it
# sees (a read whose mzxid is older than one it already saw).
import json
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.protocol.states import KazooState

out_lock = threading.Lock()
seq_lock = threading.Lock()
seq = [0]


def emit(kind, **kw):
    kw = {kind: True, **kw}
    with out_lock:
        sys.stdout.write(json.dumps(kw) + "\n")
        sys.stdout.flush()


class Client:
    def __init__(self, name, hosts, read_only, session_timeout):
        self.name = name
        self.zk = KazooClient(hosts=hosts, read_only=read_only, timeout=session_timeout,
                              connection_retry={"max_tries": -1, "delay": 0.05, "max_delay": 0.5, "backoff": 1.5})
        self.cond = threading.Condition()
        self.states = []  # KazooState transitions after the first connect
        self.started = False
        self.ok = 0
        self.failed = 0
        self.errors = []
        self.last = {}
        self.regress = []
        self.stop = threading.Event()
        self.thread = None
        self.zk.add_listener(self.on_state)

    def on_state(self, st):
        with self.cond:
            if self.started:
                self.states.append(str(st))
            self.cond.notify_all()

    def read_loop(self, paths):
        i = 0
        while not self.stop.is_set():
            p = paths[i % len(paths)]
            i += 1
            try:
                _, stat = self.zk.get(p)
                prev = self.last.get(p)
                if prev is not None and stat.mzxid < prev:
                    self.regress.append([p, prev, stat.mzxid])
                self.last[p] = max(prev or 0, stat.mzxid)
                self.ok += 1
            except Exception as e:  # noqa: BLE001 - every failure counts
                self.failed += 1
                if len(self.errors) < 10:
                    self.errors.append(type(e).__name__ + ": " + str(e)[:120])
            time.sleep(0.005)  # pacing: about 200 reads/s per client

    def info(self):
        sid = self.zk.client_id[0] if self.zk.client_id else 0
        return {"name": self.name, "session": "%x" % sid, "client_state": str(self.zk.client_state),
                "states": list(self.states), "reads_ok": self.ok, "reads_failed": self.failed,
                "errors": list(self.errors), "regress": list(self.regress)}


clients = {}


def handle(cmd):
    op = cmd["cmd"]
    if op == "open":
        c = Client(cmd["name"], cmd["hosts"], cmd.get("read_only", True), cmd.get("session_timeout", 10.0))
        try:
            c.zk.start(timeout=cmd.get("timeout", 15))
        except Exception as e:  # noqa: BLE001
            c.zk.stop()
            c.zk.close()
            return {"ok": False, "error": type(e).__name__}
        with c.cond:
            c.started = True
        clients[c.name] = c
        if cmd.get("paths"):
            c.thread = threading.Thread(target=c.read_loop, args=(cmd["paths"],), daemon=True)
            c.thread.start()
        return {"ok": True, **c.info()}
    c = clients[cmd["name"]] if "name" in cmd else None
    if op == "info":
        return {"ok": True, **c.info()}
    if op == "get":
        try:
            data, stat = c.zk.get(cmd["path"])
            return {"ok": True, "data": data.decode(), "mzxid": stat.mzxid}
        except Exception as e:  # noqa: BLE001
            return {"ok": False, "error": type(e).__name__}
    if op == "write":
        try:
            c.zk.set(cmd["path"], cmd.get("data", "x").encode())
            return {"ok": True}
        except Exception as e:  # noqa: BLE001
            return {"ok": False, "error": type(e).__name__}
    if op == "create_ephemeral":
        try:
            c.zk.create(cmd["path"], b"", ephemeral=True)
            return {"ok": True}
        except Exception as e:  # noqa: BLE001
            return {"ok": False, "error": type(e).__name__}
    if op == "watch":
        name, path = c.name, cmd["path"]

        def fired(ev):
            with seq_lock:
                seq[0] += 1
                n = seq[0]
            emit("event", name=name, path=ev.path, type=str(ev.type), seq=n)

        try:
            _, stat = c.zk.get(path, watch=fired)
            return {"ok": True, "mzxid": stat.mzxid}
        except Exception as e:  # noqa: BLE001
            return {"ok": False, "error": type(e).__name__}
    if op == "wait_state":
        want = cmd["state"]
        deadline = time.monotonic() + cmd.get("timeout", 30)
        with c.cond:
            while str(c.zk.client_state) != want:
                left = deadline - time.monotonic()
                if left <= 0:
                    return {"ok": False, **c.info()}
                c.cond.wait(left)
        return {"ok": True, **c.info()}
    if op == "wait_reconnect":
        # until the client has lost its connection and is connected again
        deadline = time.monotonic() + cmd.get("timeout", 30)
        with c.cond:
            while not (any(x in ("SUSPENDED", "LOST") for x in c.states) and c.states[-1] == "CONNECTED"):
                left = deadline - time.monotonic()
                if left <= 0:
                    return {"ok": False, **c.info()}
                c.cond.wait(left)
        return {"ok": True, **c.info()}
    if op == "close":
        c.stop.set()
        if c.thread:
            c.thread.join()
        c.zk.stop()
        c.zk.close()
        del clients[c.name]
        return {"ok": True}
    raise ValueError("unknown command %r" % op)


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            rep = handle(json.loads(line))
        except Exception as e:  # noqa: BLE001
            rep = {"ok": False, "error": "driver: %s: %s" % (type(e).__name__, e)}
        emit("reply", **rep)
    for c in list(clients.values()):
        c.stop.set()
        try:
            c.zk.stop()
            c.zk.close()
        except Exception:  # noqa: BLE001
            pass


if __name__ == "__main__":
    main()
