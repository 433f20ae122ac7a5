package session

import (
	"math"
	"sync/atomic"
)

// ContainerEphemeralOwner is EphemeralType.CONTAINER_EPHEMERAL_OWNER, the
// ephemeralOwner that marks a container znode; no session may have this id.
const ContainerEphemeralOwner int64 = math.MinInt64

// InitialSessionID is the first session id a server with server id sid
// hands out when its session tracker starts at elapsedMs (milliseconds of
// a monotonic clock, see ElapsedMillis), exactly as ZooKeeper 3.8's
// SessionTrackerImpl.initializeNextSessionId:
//
//	id = ((elapsedMs << 24) >>> 8) | (sid << 56), +1 if that is Long.MIN_VALUE
//
// so the top byte is sid, the next five bytes the low 40 bits of elapsedMs
// and the low two bytes zero. The shift right is unsigned (the 3.5+
// variant, ZOOKEEPER-1622): a time with bit 39 set does not smear into the
// top byte. Only the low 8 bits of sid survive the shift (as in Java), so
// servers whose ids are equal mod 256 can hand out equal session ids; a sid
// of 128..255 gives negative ids. Standalone Java servers use sid 1.
func InitialSessionID(sid, elapsedMs int64) int64 {
	id := int64(uint64(elapsedMs<<24)>>8) | sid<<56
	if id == ContainerEphemeralOwner {
		id++
	}
	return id
}

// Allocator hands out session ids: InitialSessionID first, then +1 per
// session, as SessionTrackerImpl.createSession (nextSessionId.getAndIncrement)
// and LearnerSessionTracker.createSession. Local and global sessions created
// on one server draw from one Allocator, so they never share an id. It is
// safe for concurrent use. The zero value hands out 0, 1, 2...; use
// NewAllocator.
type Allocator struct {
	next atomic.Int64
}

// NewAllocator returns an Allocator whose first id is
// InitialSessionID(sid, elapsedMs).
func NewAllocator(sid, elapsedMs int64) *Allocator {
	a := new(Allocator)
	a.next.Store(InitialSessionID(sid, elapsedMs))
	return a
}

// Next returns a new session id. Unlike Java, which checks only the initial
// id, it also skips ContainerEphemeralOwner if the increments ever reach it
// (only possible for sid 127 after about 2^16 sessions at the very end of
// the 40-bit time range); no id Java would hand out differs otherwise.
func (a *Allocator) Next() int64 {
	id := a.next.Add(1) - 1
	if id == ContainerEphemeralOwner {
		id = a.next.Add(1) - 1
	}
	return id
}
