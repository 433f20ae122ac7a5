package learner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// wantConfigErr reports whether err matches want: nil for "", else an
// ErrConfig whose text contains want. It reports a mismatch with t.Errorf.
func wantConfigErr(t *testing.T, what string, err error, want string) bool {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: %v", what, err)
	case want != "" && (err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), want)):
		t.Errorf("%s = %v, want an ErrConfig containing %q", what, err, want)
	default:
		return true
	}
	return false
}

func TestParseEnsembleFlag(t *testing.T) {
	defaults := func(voters ...Peer) Ensemble {
		return Ensemble{Voters: voters, TickTime: DefaultTickTime, InitLimit: DefaultInitLimit, SyncLimit: DefaultSyncLimit}
	}
	tests := []struct {
		in      string
		want    Ensemble
		wantErr string // substring; "" means success
	}{
		{in: "127.0.0.1:2888", want: defaults(Peer{SID: 1, QuorumAddr: "127.0.0.1:2888"})},
		{
			in: "a:2888:3888, b:2889:3889 ,c:2890:3890",
			want: defaults(
				Peer{SID: 1, QuorumAddr: "a:2888", ElectionAddr: "a:3888"},
				Peer{SID: 2, QuorumAddr: "b:2889", ElectionAddr: "b:3889"},
				Peer{SID: 3, QuorumAddr: "c:2890", ElectionAddr: "c:3890"}),
		},
		{
			in: "7=a:1:2,9=b:3",
			want: defaults(
				Peer{SID: 7, QuorumAddr: "a:1", ElectionAddr: "a:2"},
				Peer{SID: 9, QuorumAddr: "b:3"}),
		},
		{in: "[::1]:2888:3888", want: defaults(Peer{SID: 1, QuorumAddr: "[::1]:2888", ElectionAddr: "[::1]:3888"})},
		{in: "a:1,,", want: defaults(Peer{SID: 1, QuorumAddr: "a:1"})}, // empty entries are skipped
		{in: "", wantErr: "no voters"},
		{in: " , ", wantErr: "no voters"},
		{in: "localhost", wantErr: "want host:quorumPort"},
		{in: ":2888", wantErr: "want host:quorumPort"},
		{in: "a:1:2:3", wantErr: "want host:quorumPort"},
		{in: "a:0", wantErr: "bad port"},
		{in: "a:65536", wantErr: "bad port"},
		{in: "a:x", wantErr: "bad port"},
		{in: "a:1:y", wantErr: "bad port"},
		{in: "[::1:2888", wantErr: "unclosed ["},
		{in: "x=a:1", wantErr: "bad sid"},
		{in: "1=a:1,1=b:2", wantErr: "listed twice"},
	}
	for _, tc := range tests {
		got, err := ParseEnsembleFlag(tc.in)
		if !wantConfigErr(t, fmt.Sprintf("ParseEnsembleFlag(%q)", tc.in), err, tc.wantErr) || tc.wantErr != "" {
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseEnsembleFlag(%q) =\n %+v\nwant\n %+v", tc.in, got, tc.want)
		}
	}
}

func TestReadZooCfg(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("dyn.cfg", "server.3=c:2890:3890:participant;0.0.0.0:2183\nserver.2=b:2889:3889\n")
	tests := []struct {
		name, text string
		want       Ensemble
		wantErr    string
	}{
		{
			name: "debian default timing, voters sorted, observer listed apart",
			text: "# comment\ndataDir=/var/lib/zookeeper\nclientPort=2181\n" +
				"server.2=b:2889:3889\nserver.1=a:2888:3888:participant\n server.10 = o:2898:3898:observer \n" +
				// a multi-address observer whose role is on its second address
				"server.11=p:2899:3899|p2:2899:3899:observer;2181\n",
			want: Ensemble{
				Voters: []Peer{
					{SID: 1, QuorumAddr: "a:2888", ElectionAddr: "a:3888"},
					{SID: 2, QuorumAddr: "b:2889", ElectionAddr: "b:3889"},
				},
				Observers: []int64{10, 11},
				TickTime:  DefaultTickTime, InitLimit: DefaultInitLimit, SyncLimit: DefaultSyncLimit,
			},
		},
		{
			name: "timing, client address, multi-address",
			text: "tickTime=200\ninitLimit=7\nsyncLimit=3\n" +
				"server.1=a:2888:3888;2181\nserver.2=b:2889:3889|b2:2889:3889:participant;b:2182\n",
			want: Ensemble{
				Voters: []Peer{
					{SID: 1, QuorumAddr: "a:2888", ElectionAddr: "a:3888"},
					{SID: 2, QuorumAddr: "b:2889", ElectionAddr: "b:3889"},
				},
				TickTime: 200 * time.Millisecond, InitLimit: 7, SyncLimit: 3,
			},
		},
		{
			name: "dynamic config file, relative to zoo.cfg",
			text: "tickTime=500\ndynamicConfigFile=dyn.cfg\n",
			want: Ensemble{
				Voters: []Peer{
					{SID: 2, QuorumAddr: "b:2889", ElectionAddr: "b:3889"},
					{SID: 3, QuorumAddr: "c:2890", ElectionAddr: "c:3890"},
				},
				TickTime: 500 * time.Millisecond, InitLimit: DefaultInitLimit, SyncLimit: DefaultSyncLimit,
			},
		},
		{name: "no voters", text: "server.9=o:1:2:observer\n", wantErr: "no server.N voter lines"},
		{name: "bad tickTime", text: "tickTime=0\nserver.1=a:1:2\n", wantErr: "bad tickTime"},
		{name: "bad syncLimit", text: "syncLimit=x\nserver.1=a:1:2\n", wantErr: "bad syncLimit"},
		{name: "bad server id", text: "server.x=a:1:2\n", wantErr: "bad server id"},
		{name: "bad port", text: "server.1=a:99999:2\n", wantErr: "bad port"},
		{name: "duplicate sid", text: "server.1=a:1:2\nserver.1=b:1:2\n", wantErr: "listed twice"},
		{name: "missing dynamic file", text: "dynamicConfigFile=/nonexistent/dyn\n", wantErr: "dynamicConfigFile"},
	}
	for i, tc := range tests {
		path := write("zoo"+string(rune('a'+i))+".cfg", tc.text)
		got, err := ReadZooCfg(path)
		if !wantConfigErr(t, tc.name+": ReadZooCfg", err, tc.wantErr) || tc.wantErr != "" {
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: ReadZooCfg =\n %+v\nwant\n %+v", tc.name, got, tc.want)
		}
	}
	if _, err := ReadZooCfg(filepath.Join(dir, "absent.cfg")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing zoo.cfg: %v", err)
	}
}

func TestCheckSID(t *testing.T) {
	e := Ensemble{Voters: []Peer{{SID: 1, QuorumAddr: "a:1"}, {SID: 2, QuorumAddr: "b:1"}, {SID: 3, QuorumAddr: "c:1"}}}
	tests := []struct {
		sid     int64
		wantErr string
	}{
		{4, ""},
		{254, ""},
		{0, "out of range"},
		{-1, "out of range"},
		{255, "out of range"},
		{256, "out of range"},
		{1, "is a voter's"},
		{3, "is a voter's"},
	}
	for _, tc := range tests {
		wantConfigErr(t, fmt.Sprintf("CheckSID(%d)", tc.sid), e.CheckSID(tc.sid), tc.wantErr)
	}
	if q := e.Quorum(); q != 2 {
		t.Errorf("Quorum of 3 = %d", q)
	}
}
