package bench

import (
	"fmt"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
)

// Tree builds the benchmarks' tree of n znodes the way a leader would:
// create txns in epoch epoch, parents /benchNNNN holding 999 children
// nodeNNNNNN with dataSize bytes of data each (open ACL).
func Tree(n, dataSize int, epoch int64) (*tree.DataTree, error) {
	t := tree.New(tree.Options{})
	data := make([]byte, dataSize)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	zxid := proto.MakeZxid(epoch, 0)
	create := func(path string, d []byte) error {
		zxid++
		rc := t.Apply(&proto.Txn{Header: proto.TxnHeader{ClientID: 1, Zxid: zxid, Time: 1_750_000_000_000, Type: proto.OpCreate},
			Body: &proto.CreateTxn{Path: path, Data: d, ACL: proto.OpenACLUnsafe, ParentCVersion: -1}})
		if rc.Err != 0 {
			return fmt.Errorf("create %s: %v", path, rc.Err)
		}
		return nil
	}
	for made, p := 0, 0; made < n; p++ {
		parent := fmt.Sprintf("/bench%04d", p)
		if err := create(parent, []byte{}); err != nil {
			return nil, err
		}
		made++
		for c := 0; c < 999 && made < n; c++ {
			if err := create(fmt.Sprintf("%s/node%06d", parent, c), data); err != nil {
				return nil, err
			}
			made++
		}
	}
	return t, nil
}
