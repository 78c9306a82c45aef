//go:build unix

package main

import "syscall"

// raiseFDLimit lifts the soft RLIMIT_NOFILE to the hard one (every WebSocket is a descriptor)
// and returns the limit now in force. Go already does this at start on most systems; doing it
// here makes it explicit and gives the descriptor reserve its figure.
func raiseFDLimit() (int, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur < l.Max {
		want := l
		want.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err == nil {
			l = want
		}
	}
	return int(min(l.Cur, 1<<30)), nil
}
