package importer

import (
	"strings"
	"time"

	"mailhouse/internal/message"
)

// Internals for the external tests (package importer_test, which may
// import testenv: this package may not, as testenv's app imports it).

// SampleMbox is the mbox of the reader tests.
const SampleMbox = sampleMbox

// SetProgressInterval makes p report every d.
func SetProgressInterval(p *Progress, d time.Duration) { p.interval = d }

// HasMboxState reports whether a message's header has a field that mbox
// import removes.
func HasMboxState(b []byte) bool {
	for _, f := range message.Fields(headerOf(b)) {
		for _, s := range mboxStateFields {
			if strings.EqualFold(f.Name, s) {
				return true
			}
		}
	}
	return false
}

// Body is a message without its header.
func Body(b []byte) []byte { return b[len(headerOf(b)):] }
