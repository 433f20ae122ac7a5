package session

import "fmt"

// Timeouts are a server's bounds for session timeouts, in milliseconds
// (ZooKeeperServer.minSessionTimeout / maxSessionTimeout).
type Timeouts struct {
	Min, Max int32
}

// NewTimeouts returns the bounds for tickTime (ms) and the configured
// minSessionTimeout / maxSessionTimeout. A bound <= 0 selects Java's
// default, 2×tickTime for the minimum and 20×tickTime for the maximum. Java
// takes only -1 as "default"; an explicit 0 would let a client negotiate a
// timeout of 0, which every client reads as "session expired", so it is
// treated as unset here. As in QuorumPeerConfig, a minimum above the
// maximum (after defaults) is an error, and so is tickTime <= 0.
func NewTimeouts(tickTime, minTimeout, maxTimeout int32) (Timeouts, error) {
	if tickTime <= 0 {
		return Timeouts{}, fmt.Errorf("session: tickTime %d must be positive", tickTime)
	}
	t := Timeouts{Min: minTimeout, Max: maxTimeout}
	if t.Min <= 0 {
		t.Min = 2 * tickTime
	}
	if t.Max <= 0 {
		t.Max = 20 * tickTime
	}
	if t.Min > t.Max {
		return Timeouts{}, fmt.Errorf("session: minSessionTimeout %d must not be larger than maxSessionTimeout %d", t.Min, t.Max)
	}
	return t, nil
}

// Negotiate returns the session timeout a server grants for a requested
// one, as ZooKeeperServer.processConnectRequest: raised to Min, then
// lowered to Max. It is used for new sessions and reconnects alike.
func (t Timeouts) Negotiate(requested int32) int32 {
	if requested < t.Min {
		requested = t.Min
	}
	if requested > t.Max {
		requested = t.Max
	}
	return requested
}
