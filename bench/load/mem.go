package load

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Memory is the resident memory of a process tree.
type Memory struct {
	Procs int
	RSSKB int64 // sum of RSS: counts shared pages once per process
	PSSKB int64 // sum of PSS: shared pages divided among their sharers
}

func (m Memory) String() string {
	return fmt.Sprintf("%d processes, RSS %.1f MiB, PSS %.1f MiB", m.Procs, float64(m.RSSKB)/1024, float64(m.PSSKB)/1024)
}

// TreeMemory sums RSS and PSS over pid and all its descendants (Linux
// /proc; PSS needs permission to read the processes' smaps_rollup).
func TreeMemory(pid int) (Memory, error) {
	children := map[int][]int{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		child, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		children[ppid] = append(children[ppid], child)
	}
	var m Memory
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		queue = append(queue, children[p]...)
		rss, pss, err := procMemory(p)
		if err != nil {
			if p == pid {
				return Memory{}, err
			}
			continue // exited meanwhile
		}
		m.Procs++
		m.RSSKB += rss
		m.PSSKB += pss
	}
	return m, nil
}

func procMemory(pid int) (rss, pss int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "Rss:":
			rss = v
		case "Pss:":
			pss = v
		}
	}
	return rss, pss, sc.Err()
}
