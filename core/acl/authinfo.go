package acl

import (
	"github.com/zkobserver/zkobserver/core/proto"
)

// AuthInfo is the set of identities a client connection holds
// (ServerCnxn.authInfo): it starts with the connection's ip id and grows with
// every successful auth packet. Adding an identity it already holds changes
// nothing.
//
// IDs lists the identities in the order Java's ServerCnxn.getAuthInfo does.
// Java keeps them in a Set backed by a ConcurrentHashMap, so that order is
// the map's iteration order (by Id.hashCode bucket, then insertion within a
// bucket), not the order of authentication; AuthInfo reproduces it, including
// the table doubling at 12, 24, ... entries. The order is visible to clients:
// it is the order of whoAmI's reply, and the order in which an "auth" ACL
// entry expands (Fixup) — on an observer, the leader expands it from the
// authinfo list the observer forwards with the request, so an observer must
// send this order. (A bucket that would hold more than 8 ids makes Java
// resize early; that needs 9 ids with colliding hashes and is not
// reproduced.)
//
// The zero value is an empty set. AuthInfo is not safe for concurrent use;
// IDs returns a copy that is.
type AuthInfo struct {
	table [][]hashedID // length 0 or a power of two >= 16
	count int
}

type hashedID struct {
	hash int32 // ConcurrentHashMap.spread(Id.hashCode())
	id   proto.Id
}

const (
	chmInitialTable = 16 // ConcurrentHashMap.DEFAULT_CAPACITY
)

// idHash is the jute-generated Id.hashCode: 37*(37*17 + scheme.hashCode()) +
// id.hashCode(), in int32 arithmetic.
func idHash(id proto.Id) int32 {
	h := int32(17)
	h = 37*h + javaStringHash(id.Scheme)
	h = 37*h + javaStringHash(id.ID)
	return h
}

// spread is ConcurrentHashMap.spread: the high half folded into the low half,
// sign bit cleared.
func spread(h int32) int32 {
	u := uint32(h)
	return int32((u ^ u>>16) & 0x7fffffff)
}

// Add adds ids that the set does not hold yet, in order.
func (a *AuthInfo) Add(ids ...proto.Id) {
	for _, id := range ids {
		a.add(id)
	}
}

func (a *AuthInfo) add(id proto.Id) {
	if a.table == nil {
		a.table = make([][]hashedID, chmInitialTable)
	}
	h := spread(idHash(id))
	n := len(a.table)
	bin := &a.table[h&int32(n-1)]
	for _, e := range *bin {
		if e.id == id {
			return
		}
	}
	*bin = append(*bin, hashedID{hash: h, id: id})
	a.count++
	// addCount: resize once the count reaches sizeCtl = 0.75 n.
	if a.count >= n-n>>2 {
		a.transfer()
	}
}

// transfer doubles the table as ConcurrentHashMap.transfer does: each bin
// splits into a low and a high bin; the longest tail of nodes that all go to
// the same side ("lastRun") keeps its order, and the nodes before it are
// prepended one by one, which reverses them.
func (a *AuthInfo) transfer() {
	n := len(a.table)
	next := make([][]hashedID, 2*n)
	for i := n - 1; i >= 0; i-- { // Java transfers from the top bin down; bins are independent
		bin := a.table[i]
		if len(bin) == 0 {
			continue
		}
		side := func(e hashedID) bool { return e.hash&int32(n) != 0 }
		lastRun := len(bin) - 1
		for lastRun > 0 && side(bin[lastRun-1]) == side(bin[len(bin)-1]) {
			lastRun--
		}
		var low, high []hashedID
		if side(bin[lastRun]) {
			high = append(high, bin[lastRun:]...)
		} else {
			low = append(low, bin[lastRun:]...)
		}
		for _, e := range bin[:lastRun] {
			if side(e) {
				high = append([]hashedID{e}, high...)
			} else {
				low = append([]hashedID{e}, low...)
			}
		}
		next[i], next[i+n] = low, high
	}
	a.table = next
}

// Has reports whether the set holds id.
func (a *AuthInfo) Has(id proto.Id) bool {
	if a.table == nil {
		return false
	}
	h := spread(idHash(id))
	for _, e := range a.table[h&int32(len(a.table)-1)] {
		if e.id == id {
			return true
		}
	}
	return false
}

// Len is the number of identities held.
func (a *AuthInfo) Len() int { return a.count }

// IDs returns a new slice of the identities in Java's getAuthInfo order
// (see AuthInfo). This is the list a request carries (Request.authInfo):
// what Check, Fixup and WhoAmI take, and what a learner forwards to the
// leader with a write.
func (a *AuthInfo) IDs() []proto.Id {
	ids := make([]proto.Id, 0, a.count)
	for _, bin := range a.table {
		for _, e := range bin {
			ids = append(ids, e.id)
		}
	}
	return ids
}
