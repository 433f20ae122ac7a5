// Package progress draws a one-line progress bar on a terminal (stderr),
// redrawn at most ten times a second; on a non-terminal it prints one line
// per stage instead.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Bar is a progress bar. Safe for concurrent use.
type Bar struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	stage string
	last  time.Time
	drawn bool
}

// New returns a bar drawing on w.
func New(w io.Writer) *Bar {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil {
			tty = st.Mode()&os.ModeCharDevice != 0
		}
	}
	return &Bar{w: w, tty: tty}
}

// Update reports that stage has done of total units.
func (b *Bar) Update(stage string, done, total int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.tty {
		if stage != b.stage {
			b.stage = stage
			fmt.Fprintf(b.w, "%s ...\n", stage)
		}
		return
	}
	now := time.Now()
	if stage == b.stage && now.Sub(b.last) < 100*time.Millisecond && done < total {
		return
	}
	b.stage, b.last, b.drawn = stage, now, true
	frac := 0.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	const width = 30
	n := int(frac * width)
	fmt.Fprintf(b.w, "\r%-36.36s [%s%s] %3.0f%%", stage, strings.Repeat("#", n), strings.Repeat(".", width-n), frac*100)
}

// Done clears the bar.
func (b *Bar) Done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tty && b.drawn {
		fmt.Fprintf(b.w, "\r%s\r", strings.Repeat(" ", 80))
		b.drawn = false
	}
}
