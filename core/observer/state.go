package observer

// State is where the observer is in its life, held in one place.
type State int32

// States (see DESIGN.md): a fresh start is Discovering; a leader found
// means Syncing; UPTODATE means Observing; losing the leader goes back to
// Discovering.
const (
	Discovering State = iota
	Syncing
	Observing
	Stopped
)

var stateNames = [...]string{"DISCOVERING", "SYNCING", "OBSERVING", "STOPPED"}

func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "UNKNOWN"
}
