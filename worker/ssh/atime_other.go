//go:build !linux

package sshworker

import (
	"io/fs"
	"time"

	"github.com/pkg/sftp"
)

func statAtime(fi fs.FileInfo) (time.Time, bool) {
	if st, ok := fi.Sys().(*sftp.FileStat); ok {
		return time.Unix(int64(st.Atime), 0), true
	}
	return time.Time{}, false
}
