package app

import "runtime"

// loginHashes is how many password checks may run at once.
//
// An argon2id check is one long computation (19–64 MiB, tens of
// milliseconds of CPU) that the Go scheduler interrupts only every
// 10 ms. When checks occupy every processor, a session whose data has
// just arrived waits for that interruption: with 4 checks at once on 2
// cores, POP3 RETR, otherwise answered in a quarter of a millisecond,
// had a p99 of 10–13 ms during a run of logins. One processor is kept
// free of checks (on a machine with one, there is no choice), which
// also bounds the memory the checks hold at once.
func loginHashes() int {
	return max(1, runtime.GOMAXPROCS(0)-1)
}
