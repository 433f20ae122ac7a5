package interop

import (
	"bytes"
	"fmt"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkobserver/zkobserver/core/persist"
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/internal/ensemble"
	"github.com/zkobserver/zkobserver/internal/restoretest"
	"github.com/zkobserver/zkobserver/snapshot"
	"github.com/zkobserver/zkobserver/storage"
	"github.com/zkobserver/zkobserver/storage/bolt"
	"github.com/zkobserver/zkobserver/storage/memory"
	"github.com/zkobserver/zkobserver/storage/pebble"
)

// TestRestoreFromJavaDataDir is the acceptance test of restore: a real
// 3-voter ensemble (small snapCount: several snapshots and logs) gets every
// node kind, every ACL scheme, null, empty and large data, and sessions
// that are still open when the ensemble stops. The leader's dataDir is then
// restored into each engine, and the listing of the tree the engine holds
// must equal the listing built from what a client read from that server,
// with the digest Java logged last and the live sessions in the table.
func TestRestoreFromJavaDataDir(t *testing.T) {
	ensemble.Require(t)
	e := ensemble.Start(t, ensemble.Options{
		Voters:   3,
		JVMFlags: []string{"-Dzookeeper.extendedTypesEnabled=true"},
		Properties: map[string]string{
			"snapCount": "100",
			// Live sessions must outlive the ensemble's shutdown.
			"maxSessionTimeout": "60000",
		},
	})
	ctx := waitCtx(t, 2*time.Minute)
	leader, err := e.WaitForLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	addrs := e.ClientAddrs()
	live, dialers := liveWorkload(t, addrs)
	want := readTree(t, leader.ClientAddr)
	for _, d := range dialers {
		d.sever() // no reconnects, and no closeSession
	}
	for _, id := range append([]int{leader.ID}, otherIDs(e, leader.ID)...) {
		if err := e.Stop(id); err != nil {
			t.Fatal(err)
		}
	}

	dir := leader.DataDir
	snaps, _ := snapshot.FindSnapshots(leader.VersionDir())
	logs, _ := snapshot.ListLogs(leader.VersionDir())
	if len(snaps) < 3 || len(logs) < 3 {
		t.Fatalf("%d snapshots and %d logs: snapCount did not roll them", len(snaps), len(logs))
	}
	lastZxid, lastDigest := restoretest.LastLogged(t, leader.VersionDir())
	wantListing := listing(t, clientDumpEntries(want))

	engines := map[string]func(string) (storage.Engine, error){
		"memory": func(string) (storage.Engine, error) { return memory.New(), nil },
		"bolt":   func(d string) (storage.Engine, error) { return bolt.Open(d, bolt.Options{}) },
		"pebble": func(d string) (storage.Engine, error) { return pebble.Open(d, pebble.Options{}) },
	}
	for _, name := range []string{"memory", "bolt", "pebble"} {
		t.Run(name, func(t *testing.T) {
			eng, err := engines[name](filepath.Join(t.TempDir(), name))
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close()
			start := time.Now()
			sum, err := snapshot.Restore(dir, eng, snapshot.RestoreOptions{Tree: tree.Options{ExtendedTypes: true}})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: restored zxid %#x, %d znodes, %d sessions from %s + %d txns (%d digests checked) in %v",
				name, sum.Zxid, sum.Znodes, sum.Sessions, sum.Snapshot.Name, sum.Txns, sum.TxnDigests, time.Since(start))
			tr, meta, err := persist.LoadTree(eng, tree.Options{ExtendedTypes: true})
			if err != nil {
				t.Fatal(err)
			}
			if meta.LastZxid != lastZxid || tr.Digest() != lastDigest || sum.Digest != lastDigest {
				t.Fatalf("engine at zxid %#x digest %d; Java logged %#x digest %d last", meta.LastZxid, tr.Digest(), lastZxid, lastDigest)
			}
			if ep := proto.ZxidEpoch(lastZxid); meta.CurrentEpoch != ep || meta.AcceptedEpoch != ep || sum.EpochsDerived {
				t.Fatalf("epochs %+v (derived %v), want %d from the epoch files", meta, sum.EpochsDerived, ep)
			}
			if got := listing(t, snapshot.TreeDumpEntries(tr)); got != wantListing {
				t.Fatalf("the engine's tree differs from what a client read from the leader:\n%s", lineDiff(got, wantListing))
			}
			var sessions map[int64]int32
			tr.View(func(v tree.View) { sessions = v.Sessions() })
			for _, id := range live {
				if _, ok := sessions[id]; !ok {
					t.Errorf("live session %#x missing from the restored session table %v", id, sessions)
				}
			}
		})
	}
}

// liveWorkload builds a tree with every node kind, ACL scheme and data
// shape through two clients whose sessions stay open (their dialers can be
// severed), plus enough traffic to roll snapshots and logs. It returns the
// live session ids.
func liveWorkload(t *testing.T, addrs []string) ([]int64, []*severableDialer) {
	t.Helper()
	da, db := &severableDialer{}, &severableDialer{}
	a := connect(t, addrs[0], 30*time.Second, da.dial)
	b := connect(t, addrs[1], 30*time.Second, db.dial)
	if err := b.AddAuth("digest", []byte(user+":"+password)); err != nil {
		t.Fatal(err)
	}
	open := zk.WorldACL(zk.PermAll)
	must := func(_ string, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	big := make([]byte, 200<<10)
	rand.New(rand.NewSource(1)).Read(big)
	must(a.Create("/acc", nil, 0, open))
	must(a.Create("/acc/empty", []byte{}, 0, open))
	must(a.Create("/acc/data", []byte("hello"), 0, open))
	must(a.Create("/acc/big", big, 0, open))
	for i := 0; i < 3; i++ {
		must(a.Create("/acc/seq-", []byte{byte(i)}, zk.FlagSequence, open))
	}
	must(a.Create("/acc/eph", []byte("live"), zk.FlagEphemeral, open))
	must(a.Create("/acc/eseq-", nil, zk.FlagEphemeral|zk.FlagSequence, open))
	must(b.Create("/acc/b-eph", nil, zk.FlagEphemeral, open))
	must(a.CreateContainer("/acc/box", []byte("c"), zk.FlagContainer, open))
	must(a.Create("/acc/box/item", nil, 0, open))
	must(a.CreateTTL("/acc/ttl", []byte("t"), zk.FlagTTL, open, time.Hour))
	must(b.Create("/acc/digest", []byte("d"), 0, digestACL))
	must(b.Create("/acc/ip", []byte("i"), 0, mixedACL))
	must(b.Create("/acc/auth", []byte("a"), 0, zk.AuthACL(zk.PermAll)))
	must(b.Create("/acc/read", nil, 0, readACL))
	// A session that closes with its ephemeral.
	c := connect(t, addrs[2], 10*time.Second, nil)
	must(c.Create("/acc/gone", nil, zk.FlagEphemeral, open))
	c.Close()
	// Traffic: several snapshots and logs (snapCount 100).
	for i := 0; i < 300; i++ {
		p := fmt.Sprintf("/acc/n%03d", i%120)
		if i < 120 {
			must(a.Create(p, []byte(p), 0, open))
		} else {
			_, err := b.Set(p, []byte(fmt.Sprint(i)), -1)
			must("", err)
		}
	}
	return []int64{a.SessionID(), b.SessionID()}, []*severableDialer{da, db}
}

func otherIDs(e *ensemble.Ensemble, except int) []int {
	var ids []int
	for _, n := range e.Nodes() {
		if n.ID != except {
			ids = append(ids, n.ID)
		}
	}
	return ids
}

// clientDumpEntries turns what a client read into dump entries.
func clientDumpEntries(m map[string]clientNode) []snapshot.DumpEntry {
	var out []snapshot.DumpEntry
	for p, n := range m {
		s := n.Stat
		ent := snapshot.DumpEntry{Path: p, Data: n.Data, Stat: proto.Stat{
			Czxid: s.Czxid, Mzxid: s.Mzxid, Ctime: s.Ctime, Mtime: s.Mtime, Version: s.Version,
			Cversion: s.Cversion, Aversion: s.Aversion, EphemeralOwner: s.EphemeralOwner,
			DataLength: s.DataLength, NumChildren: s.NumChildren, Pzxid: s.Pzxid,
		}}
		for _, a := range n.ACL {
			ent.ACL = append(ent.ACL, proto.ACL{Perms: a.Perms, ID: proto.Id{Scheme: a.Scheme, ID: a.ID}})
		}
		out = append(out, ent)
	}
	return out
}

// listing is the snapshot.WriteDump listing without /zookeeper/config,
// which each Java server writes from its own configuration outside any txn.
func listing(t *testing.T, entries []snapshot.DumpEntry) string {
	t.Helper()
	var b bytes.Buffer
	if err := snapshot.WriteDump(&b, entries); err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, l := range strings.SplitAfter(b.String(), "\n") {
		if !strings.HasPrefix(l, tree.ConfigPath+" ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}

// lineDiff lists the lines only in got (+) or only in want (-).
func lineDiff(got, want string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	g, w := in(got), in(want)
	var out []string
	for l := range g {
		if !w[l] {
			out = append(out, "+ "+l)
		}
	}
	for l := range w {
		if !g[l] {
			out = append(out, "- "+l)
		}
	}
	return strings.Join(out, "\n")
}
