package secrets

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/trivium-game/trivium/services"
)

// FileStore keeps each secret in its own file under Dir: files 0600, directories 0700, writes
// atomic (temporary file, fsync, rename) so a crash never leaves half a key behind. Names with
// slashes become subdirectories.
type FileStore struct {
	Dir string
}

var (
	_ Store   = FileStore{}
	_ Creator = FileStore{}
)

// Get returns the secret called name; services.ENotFound when absent.
func (s FileStore) Get(ctx context.Context, name string) ([]byte, error) {
	p, err := s.path(name)
	if err != nil {
		return nil, err
	}
	v, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, services.Errorf(services.ENotFound, "secret %s not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("read secret %s: %w", name, err)
	}
	return v, nil
}

// Put stores v under name, replacing any previous value atomically.
func (s FileStore) Put(ctx context.Context, name string, v []byte) error {
	return s.write(name, v, func(tmp, final string) error { return os.Rename(tmp, final) })
}

// Create stores v under name only if it is absent (services.EConflict otherwise). A hard link
// publishes the complete file in one step and fails if the name is taken.
func (s FileStore) Create(ctx context.Context, name string, v []byte) error {
	return s.write(name, v, func(tmp, final string) error {
		err := os.Link(tmp, final)
		if errors.Is(err, fs.ErrExist) {
			return services.Errorf(services.EConflict, "secret %s already exists", name)
		}
		return err
	})
}

func (s FileStore) write(name string, v []byte, publish func(tmp, final string) error) error {
	p, err := s.path(name)
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	if err := s.mkdir(dir); err != nil {
		return fmt.Errorf("secret %s: %w", name, err)
	}
	// CreateTemp makes the file 0600, so the value is never readable by others, not even briefly.
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("secret %s: %w", name, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(v); err != nil {
		f.Close()
		return fmt.Errorf("write secret %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync secret %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close secret %s: %w", name, err)
	}
	if err := publish(tmp, p); err != nil {
		if services.ErrorCode(err) == services.EConflict {
			return err
		}
		return fmt.Errorf("publish secret %s: %w", name, err)
	}
	// The rename is durable only once the directory entry is on disk.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// mkdir creates dir and its parents up to s.Dir as 0700 and tightens s.Dir itself if it was
// created by someone else with looser permissions: it holds nothing but secrets.
func (s FileStore) mkdir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Stat(s.Dir)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return os.Chmod(s.Dir, 0o700)
	}
	return nil
}

func (s FileStore) path(name string) (string, error) {
	if s.Dir == "" {
		return "", errors.New("secrets: FileStore.Dir is empty")
	}
	if !ValidName(name) {
		return "", services.Errorf(services.EInvalid, "invalid secret name %q", name)
	}
	return filepath.Join(s.Dir, filepath.FromSlash(name)), nil
}
