//go:build linux

package sshworker

import (
	"io/fs"
	"syscall"
	"time"

	"github.com/pkg/sftp"
)

func statAtime(fi fs.FileInfo) (time.Time, bool) {
	switch st := fi.Sys().(type) {
	case *syscall.Stat_t:
		return time.Unix(st.Atim.Sec, st.Atim.Nsec), true
	case *sftp.FileStat:
		return time.Unix(int64(st.Atime), 0), true
	}
	return time.Time{}, false
}
