package sshworker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/pkg/sftp"
)

// CopyOptions tune Copy and Rcopy.
type CopyOptions struct {
	// Preserve keeps the source's permission bits and access and
	// modification times on every copied file and directory (scp -p,
	// clush --copy -p). Without it, files and directories the copy creates
	// get the source's permission bits (as scp gives them) and the current
	// time; existing ones keep their mode.
	Preserve bool
	// ConnectTimeout, when positive, bounds connecting to the node for
	// this call, ranking as Options.ConnectTimeout (a -o ConnectTimeout
	// wins over it, it wins over ssh_config).
	ConnectTimeout time.Duration
}

// sftpClient returns the SFTP client of host's pooled connection, starting
// the sftp subsystem once per connection; the caller releases cn.
func (c *Client) sftpClient(ctx context.Context, host string, ct time.Duration) (*sftp.Client, *conn, error) {
	for attempt := 0; ; attempt++ {
		cn, err := c.connect(ctx, host, ct)
		if err != nil {
			return nil, nil, err
		}
		cn.sftpMu.Lock()
		sc := cn.sftp
		cn.sftpMu.Unlock()
		if sc == nil {
			err = c.bounded(ctx, cn, func() (err error) {
				sc, err = sftp.NewClient(cn.client, sftp.UseConcurrentWrites(true))
				return err
			})
			if err == nil {
				cn.sftpMu.Lock()
				if cn.sftp == nil {
					cn.sftp = sc
				} else {
					// another copy started one meanwhile: use it
					_ = sc.Close()
					sc = cn.sftp
				}
				cn.sftpMu.Unlock()
			}
		}
		if err == nil {
			return sc, cn, nil
		}
		var ce *ConnectError
		c.release(cn)
		if errors.As(err, &ce) {
			return nil, nil, err
		}
		if attempt > 0 || ctx.Err() != nil {
			return nil, nil, fmt.Errorf("ssh %s: start sftp: %w", host, err)
		}
		c.drop(cn) // a dead pooled connection: dial again once
	}
}

// resetSFTP forgets a broken SFTP client so that the next copy starts one.
func (cn *conn) resetSFTP(sc *sftp.Client, err error) {
	if !errors.Is(err, sftp.ErrSSHFxConnectionLost) && !errors.Is(err, io.EOF) {
		return
	}
	cn.sftpMu.Lock()
	if cn.sftp == sc {
		_ = sc.Close()
		cn.sftp = nil
	}
	cn.sftpMu.Unlock()
}

// Copy copies the local file or directory tree src to host over SFTP on
// the pooled connection. As with scp, when dst is an existing remote
// directory the copy goes inside it under src's base name; otherwise it is
// created as dst. Directories are copied recursively and symbolic links
// inside a tree are recreated as links.
func (c *Client) Copy(ctx context.Context, host, src, dst string, co CopyOptions) error {
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("copy to %s: %w", host, err)
	}
	sc, cn, err := c.sftpClient(ctx, host, co.ConnectTimeout)
	if err != nil {
		return err
	}
	defer c.release(cn)
	target := dst
	if rfi, err := sc.Stat(dst); err == nil && rfi.IsDir() {
		target = path.Join(dst, filepath.Base(filepath.Clean(src)))
	}
	u := uploader{ctx: ctx, sc: sc, co: co}
	if fi.IsDir() {
		err = u.tree(src, target)
	} else {
		err = u.file(src, target, fi)
	}
	if err != nil {
		cn.resetSFTP(sc, err)
		return fmt.Errorf("copy %s to %s:%s: %w", src, host, target, err)
	}
	return nil
}

type uploader struct {
	ctx context.Context
	sc  *sftp.Client
	co  CopyOptions
}

type dirTimes struct {
	path string
	fi   fs.FileInfo
}

func (u uploader) tree(src, target string) error {
	var dirs []dirTimes
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := u.ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		remote := path.Join(target, filepath.ToSlash(rel))
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			created := false
			if rfi, err := u.sc.Stat(remote); err != nil {
				if err := u.sc.Mkdir(remote); err != nil {
					return fmt.Errorf("mkdir %s: %w", remote, err)
				}
				created = true
			} else if !rfi.IsDir() {
				return fmt.Errorf("%s exists and is not a directory", remote)
			}
			if created || u.co.Preserve {
				if err := u.sc.Chmod(remote, fi.Mode().Perm()); err != nil {
					return fmt.Errorf("chmod %s: %w", remote, err)
				}
			}
			dirs = append(dirs, dirTimes{remote, fi})
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			_ = u.sc.Remove(remote)
			if err := u.sc.Symlink(link, remote); err != nil {
				return fmt.Errorf("symlink %s: %w", remote, err)
			}
		case d.Type().IsRegular():
			return u.file(p, remote, fi)
		default:
			logger().Debug("copy skips a special file", "path", p)
		}
		return nil
	})
	if err != nil || !u.co.Preserve {
		return err
	}
	// directory times last: writing inside a directory changes its mtime
	for i := len(dirs) - 1; i >= 0; i-- {
		d := dirs[i]
		if err := u.sc.Chtimes(d.path, atime(d.fi), d.fi.ModTime()); err != nil {
			return fmt.Errorf("chtimes %s: %w", d.path, err)
		}
	}
	return nil
}

func (u uploader) file(local, remote string, fi fs.FileInfo) error {
	lf, err := os.Open(local)
	if err != nil {
		return err
	}
	defer lf.Close()
	_, statErr := u.sc.Stat(remote)
	created := statErr != nil
	rf, err := u.sc.OpenFile(remote, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return fmt.Errorf("create %s: %w", remote, err)
	}
	// cancellation: closing the local file makes the transfer's reads fail
	stop := context.AfterFunc(u.ctx, func() { _ = lf.Close() })
	_, err = rf.ReadFrom(lf)
	stop()
	cerr := rf.Close()
	if err != nil {
		if u.ctx.Err() != nil {
			return u.ctx.Err()
		}
		return fmt.Errorf("write %s: %w", remote, err)
	}
	if cerr != nil {
		return fmt.Errorf("close %s: %w", remote, cerr)
	}
	if created || u.co.Preserve {
		if err := u.sc.Chmod(remote, fi.Mode().Perm()); err != nil {
			return fmt.Errorf("chmod %s: %w", remote, err)
		}
	}
	if u.co.Preserve {
		if err := u.sc.Chtimes(remote, atime(fi), fi.ModTime()); err != nil {
			return fmt.Errorf("chtimes %s: %w", remote, err)
		}
	}
	return nil
}

// RcopyName returns the local name Rcopy gives to src fetched from node
// into destDir: destDir/basename(src).node, as clush --rcopy does.
func RcopyName(destDir, src, node string) string {
	return filepath.Join(destDir, path.Base(path.Clean(src))+"."+node)
}

// Rcopy copies the remote file or directory tree src from host into the
// local directory destDir, as RcopyName(destDir, src, host), over SFTP on
// the pooled connection, and returns that path. destDir must exist.
func (c *Client) Rcopy(ctx context.Context, host, src, destDir string, co CopyOptions) (string, error) {
	local := RcopyName(destDir, src, host)
	if fi, err := os.Stat(destDir); err != nil {
		return local, fmt.Errorf("rcopy from %s: %w", host, err)
	} else if !fi.IsDir() {
		return local, fmt.Errorf("rcopy from %s: %s is not a directory", host, destDir)
	}
	sc, cn, err := c.sftpClient(ctx, host, co.ConnectTimeout)
	if err != nil {
		return local, err
	}
	defer c.release(cn)
	d := downloader{ctx: ctx, sc: sc, co: co}
	rfi, err := sc.Stat(src)
	if err == nil {
		if rfi.IsDir() {
			err = d.tree(src, local)
		} else {
			err = d.file(src, local, rfi)
		}
	}
	if err != nil {
		cn.resetSFTP(sc, err)
		return local, fmt.Errorf("rcopy %s:%s to %s: %w", host, src, local, err)
	}
	return local, nil
}

type downloader struct {
	ctx context.Context
	sc  *sftp.Client
	co  CopyOptions
}

func (d downloader) tree(src, local string) error {
	var dirs []dirTimes
	w := d.sc.Walk(src)
	for w.Step() {
		if err := w.Err(); err != nil {
			return err
		}
		if err := d.ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, w.Path())
		if err != nil {
			return err
		}
		lp := filepath.Join(local, rel)
		fi := w.Stat()
		switch {
		case fi.IsDir():
			created := false
			if lfi, err := os.Stat(lp); err != nil {
				if err := os.Mkdir(lp, 0o700); err != nil {
					return err
				}
				created = true
			} else if !lfi.IsDir() {
				return fmt.Errorf("%s exists and is not a directory", lp)
			}
			if created || d.co.Preserve {
				if err := os.Chmod(lp, fi.Mode().Perm()|0o700); err != nil {
					return err
				}
			}
			dirs = append(dirs, dirTimes{lp, fi})
		case fi.Mode()&fs.ModeSymlink != 0:
			link, err := d.sc.ReadLink(w.Path())
			if err != nil {
				return err
			}
			_ = os.Remove(lp)
			if err := os.Symlink(link, lp); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := d.file(w.Path(), lp, fi); err != nil {
				return err
			}
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		dt := dirs[i]
		if d.co.Preserve {
			if err := os.Chmod(dt.path, dt.fi.Mode().Perm()); err != nil {
				return err
			}
			if err := os.Chtimes(dt.path, atime(dt.fi), dt.fi.ModTime()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d downloader) file(remote, local string, fi fs.FileInfo) error {
	rf, err := d.sc.Open(remote)
	if err != nil {
		return fmt.Errorf("open %s: %w", remote, err)
	}
	defer rf.Close()
	_, statErr := os.Stat(local)
	created := statErr != nil
	lf, err := os.OpenFile(local, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(d.ctx, func() { _ = lf.Close() })
	_, err = rf.WriteTo(lf)
	stop()
	cerr := lf.Close()
	if err != nil {
		if d.ctx.Err() != nil {
			return d.ctx.Err()
		}
		return fmt.Errorf("read %s: %w", remote, err)
	}
	if cerr != nil && !errors.Is(cerr, os.ErrClosed) {
		return cerr
	}
	if created || d.co.Preserve {
		if err := os.Chmod(local, fi.Mode().Perm()); err != nil {
			return err
		}
	}
	if d.co.Preserve {
		if err := os.Chtimes(local, atime(fi), fi.ModTime()); err != nil {
			return err
		}
	}
	return nil
}

// atime returns a file's access time when the platform reports it, else
// its modification time.
func atime(fi fs.FileInfo) time.Time {
	if t, ok := statAtime(fi); ok {
		return t
	}
	return fi.ModTime()
}
