package zkjava

import "testing"

func TestParseSnapshotLoad(t *testing.T) {
	log := []byte(`12:00:00.001 [main] INFO ZKDatabase - Snapshot loaded in 3 ms, highest zxid is 0x0, digest is 1371985504
12:00:05.002 [main] INFO ZKDatabase - Snapshot loaded in 1234 ms, highest zxid is 0x1000f4241, digest is -42
`)
	got, ok := ParseSnapshotLoad(log)
	if want := (SnapshotLoad{Millis: 1234, Zxid: 0x1000f4241, Digest: -42}); !ok || got != want {
		t.Fatalf("got %+v %v, want %+v", got, ok, want)
	}
	if _, ok := ParseSnapshotLoad([]byte("Reading snapshot /x/snapshot.0\n")); ok {
		t.Fatal("found a load line where there is none")
	}
	if DigestMismatch(log) || !DigestMismatch([]byte("Message:Digests are not matching. Value is Zxid. Value:5")) {
		t.Fatal("DigestMismatch")
	}
}
