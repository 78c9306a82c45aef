// Package localblob is the embedded services.BlobStore: objects are files under one directory
// and the Trivium binary itself serves the presigned URLs, so a single process needs no S3.
//
// Layout under Config.Dir:
//
//	objects/ab/<sha256(key)>.json         metadata; renaming it into place commits the object
//	objects/ab/<sha256(key)>.<etag>.data  content, immutable once written
//	nonces/<expiry>-<nonce>               marker of a presigned PUT URL that has been used
//
// Files are named by the hash of the key so that keys "a" and "a/b" can both exist (a plain
// path layout would need "a" to be a file and a directory at once) and no key can name a path
// outside the directory. The metadata JSON holds the key for operators grepping the tree.
package localblob

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trivium-game/trivium/services"
)

// DefaultMaxPutBytes bounds a presigned upload when Config.MaxPutBytes is zero; it matches the
// 5 MiB avatar limit of the API.
const DefaultMaxPutBytes = 5 << 20

// defaultContentType is what S3 records for an object put without a type.
const defaultContentType = "application/octet-stream"

// Config configures a Store. Dir, BaseURL and Secret are required.
type Config struct {
	// Dir holds objects and used-URL markers; it is created if missing.
	Dir string
	// BaseURL is where Handler is reachable, e.g. http://127.0.0.1:8080; presigned URLs are
	// BaseURL + "/blob/" + key.
	BaseURL string
	// Secret keys the HMAC of presigned URLs; at least 32 bytes. Rotating it invalidates
	// every outstanding URL.
	Secret []byte
	// Now is the clock URLs are signed and checked with; time.Now when nil.
	Now func() time.Time
	// MaxPutBytes caps presigned uploads; DefaultMaxPutBytes when zero.
	MaxPutBytes int64
	// Logger receives internal errors of the HTTP handlers; slog.Default() when nil.
	Logger *slog.Logger
}

// Store is a services.BlobStore on the local file system.
type Store struct {
	dir     string
	baseURL string
	secret  []byte
	now     func() time.Time
	maxPut  int64
	log     *slog.Logger

	// commitMu serialises "read old metadata, commit new, remove old content" so concurrent
	// writers of one key never delete the content the winning metadata points at.
	commitMu sync.Mutex
}

var _ services.BlobStore = (*Store)(nil)

// New checks cfg, creates the directory layout and prunes markers of URLs that have expired.
func New(cfg Config) (*Store, error) {
	switch {
	case cfg.Dir == "":
		return nil, errors.New("localblob: Dir is required")
	case cfg.BaseURL == "":
		return nil, errors.New("localblob: BaseURL is required (where the binary serves /blob/)")
	case len(cfg.Secret) < 32:
		return nil, errors.New("localblob: Secret must be at least 32 bytes")
	}
	if u, err := url.Parse(cfg.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("localblob: BaseURL %q must be an absolute http(s) URL such as http://127.0.0.1:8080", cfg.BaseURL)
	}
	s := &Store{
		dir:     cfg.Dir,
		baseURL: strings.TrimRight(cfg.BaseURL, "/"),
		secret:  append([]byte(nil), cfg.Secret...),
		now:     cfg.Now,
		maxPut:  cfg.MaxPutBytes,
		log:     cfg.Logger,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxPut <= 0 {
		s.maxPut = DefaultMaxPutBytes
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	for _, d := range []string{s.objectsDir(), s.noncesDir()} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("localblob: create %s: %w", d, err)
		}
	}
	if _, err := s.PruneNonces(); err != nil {
		return nil, err
	}
	return s, nil
}

// meta is the sidecar JSON of one object.
type meta struct {
	Key          string    `json:"key"`
	Size         int64     `json:"size"`
	ContentType  string    `json:"contentType"`
	CacheControl string    `json:"cacheControl,omitempty"`
	ETag         string    `json:"etag"`
	Data         string    `json:"data"` // content file name, in the same directory
	Modified     time.Time `json:"modified"`
}

func (m meta) info() services.BlobInfo {
	return services.BlobInfo{Size: m.Size, ContentType: m.ContentType, ETag: m.ETag, CacheControl: m.CacheControl}
}

func (s *Store) objectsDir() string { return filepath.Join(s.dir, "objects") }
func (s *Store) noncesDir() string  { return filepath.Join(s.dir, "nonces") }

// paths returns the shard directory of key and its metadata file name.
func (s *Store) paths(key string) (dir, metaName string) {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(s.objectsDir(), h[:2]), h + ".json"
}

// Put stores r (exactly size bytes) under key, replacing any previous object.
func (s *Store) Put(ctx context.Context, key string, r io.ReadSeeker, size int64, contentType, cacheControl string) error {
	if err := services.ValidBlobKey(key); err != nil {
		return err
	}
	if contentType == "" {
		contentType = defaultContentType
	}
	if err := validHeaderValue("content type", contentType); err != nil {
		return err
	}
	if err := validHeaderValue("cache control", cacheControl); err != nil {
		return err
	}
	if size < 0 {
		return services.Errorf(services.EInvalid, "size must not be negative")
	}
	staged, err := s.stage(ctx, key, r, size)
	if err != nil {
		return err
	}
	defer staged.discard()
	_, err = s.commit(key, staged, contentType, cacheControl)
	return err
}

// staged is content written to a temporary file, not yet visible.
type staged struct {
	dir, tmp string
	size     int64
	etag     string // hex, unquoted
}

func (st *staged) discard() {
	if st.tmp != "" {
		os.Remove(st.tmp)
	}
}

// errLength reports content that is not exactly the announced size.
var errLength = services.Errorf(services.EInvalid, "content length does not match")

// stage copies exactly size bytes of r into a synced temporary file next to key's metadata.
// Reading one byte more than size is how a longer body is detected.
func (s *Store) stage(ctx context.Context, key string, r io.Reader, size int64) (*staged, error) {
	dir, _ := s.paths(key)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("localblob: create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("localblob: create temp: %w", err)
	}
	st := &staged{dir: dir, tmp: f.Name()}
	fail := func(err error) (*staged, error) {
		f.Close()
		st.discard()
		return nil, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(ctxReader{ctx, r}, size+1))
	if err != nil {
		return fail(fmt.Errorf("localblob: write %q: %w", key, err))
	}
	if n != size {
		return fail(errLength)
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("localblob: sync %q: %w", key, err))
	}
	if err := f.Close(); err != nil {
		st.discard()
		return nil, fmt.Errorf("localblob: close %q: %w", key, err)
	}
	st.size = n
	// Half of SHA-256 is plenty to tell versions apart and keeps the ETag the size of S3's MD5.
	st.etag = hex.EncodeToString(h.Sum(nil)[:16])
	return st, nil
}

// ctxReader stops a long copy when the caller gives up.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// commit makes staged content the object at key. Content first, then metadata: the rename of
// the metadata is the atomic commit point, so a crash leaves either the old object or the new
// one, never new metadata over missing content.
func (s *Store) commit(key string, st *staged, contentType, cacheControl string) (meta, error) {
	_, metaName := s.paths(key)
	m := meta{
		Key:          key,
		Size:         st.size,
		ContentType:  contentType,
		CacheControl: cacheControl,
		ETag:         `"` + st.etag + `"`,
		Data:         strings.TrimSuffix(metaName, ".json") + "." + st.etag + ".data",
		Modified:     s.now().UTC(),
	}
	body, err := json.Marshal(m)
	if err != nil {
		return meta{}, fmt.Errorf("localblob: encode metadata: %w", err)
	}

	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	// Identical content under one key shares a data file name, so the rename must happen under
	// the lock: otherwise a concurrent commit could remove it as the "old" content.
	if err := os.Rename(st.tmp, filepath.Join(st.dir, m.Data)); err != nil {
		return meta{}, fmt.Errorf("localblob: commit %q: %w", key, err)
	}
	st.tmp = ""
	old, oldErr := readMeta(filepath.Join(st.dir, metaName))
	if err := writeFileAtomic(st.dir, metaName, body); err != nil {
		if oldErr != nil || old.Data != m.Data {
			os.Remove(filepath.Join(st.dir, m.Data))
		}
		return meta{}, fmt.Errorf("localblob: commit %q: %w", key, err)
	}
	if oldErr == nil && old.Data != m.Data {
		if err := os.Remove(filepath.Join(st.dir, old.Data)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("localblob: remove replaced content", "key", key, "err", err)
		}
	}
	return m, nil
}

// writeFileAtomic writes name in dir through a synced temporary file, a rename and a directory
// sync, so the name never refers to a partial file, before or after a crash.
func writeFileAtomic(dir, name string, body []byte) error {
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func readMeta(path string) (meta, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return meta{}, err
	}
	var m meta
	if err := json.Unmarshal(b, &m); err != nil {
		return meta{}, fmt.Errorf("localblob: decode %s: %w", path, err)
	}
	return m, nil
}

// open returns key's content as an open file and its metadata.
func (s *Store) open(key string) (*os.File, meta, error) {
	if err := services.ValidBlobKey(key); err != nil {
		return nil, meta{}, err
	}
	dir, metaName := s.paths(key)
	// A concurrent overwrite may remove the content between reading the metadata and opening
	// it; reading the metadata again then finds the newer content.
	for range 3 {
		m, err := readMeta(filepath.Join(dir, metaName))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, meta{}, services.Errorf(services.ENotFound, "blob %q not found", key)
		}
		if err != nil {
			return nil, meta{}, err
		}
		f, err := os.Open(filepath.Join(dir, m.Data))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, meta{}, fmt.Errorf("localblob: open %q: %w", key, err)
		}
		return f, m, nil
	}
	return nil, meta{}, fmt.Errorf("localblob: open %q: content keeps disappearing", key)
}

// Get returns key's content; the caller closes it.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, services.BlobInfo, error) {
	f, m, err := s.open(key)
	if err != nil {
		return nil, services.BlobInfo{}, err
	}
	return f, m.info(), nil
}

// Head returns key's metadata.
func (s *Store) Head(ctx context.Context, key string) (services.BlobInfo, error) {
	if err := services.ValidBlobKey(key); err != nil {
		return services.BlobInfo{}, err
	}
	dir, metaName := s.paths(key)
	m, err := readMeta(filepath.Join(dir, metaName))
	if errors.Is(err, fs.ErrNotExist) {
		return services.BlobInfo{}, services.Errorf(services.ENotFound, "blob %q not found", key)
	}
	if err != nil {
		return services.BlobInfo{}, err
	}
	return m.info(), nil
}

// Delete removes key; an absent key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := services.ValidBlobKey(key); err != nil {
		return err
	}
	dir, metaName := s.paths(key)
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	m, err := readMeta(filepath.Join(dir, metaName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(dir, metaName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("localblob: delete %q: %w", key, err)
	}
	if err := os.Remove(filepath.Join(dir, m.Data)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("localblob: delete %q content: %w", key, err)
	}
	return syncDir(dir)
}

// claimNonce records that the presigned PUT URL (expiry, nonce) has been used. Creating the
// marker exclusively makes the claim atomic between concurrent requests, and it is synced to
// disk before the object is committed so a restart cannot make the URL usable again.
func (s *Store) claimNonce(expires int64, nonce string) (bool, error) {
	name := filepath.Join(s.noncesDir(), strconv.FormatInt(expires, 10)+"-"+nonce)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("localblob: record used URL: %w", err)
	}
	if err := f.Close(); err != nil {
		return false, fmt.Errorf("localblob: record used URL: %w", err)
	}
	if err := syncDir(s.noncesDir()); err != nil {
		return false, fmt.Errorf("localblob: record used URL: %w", err)
	}
	return true, nil
}

// PruneNonces removes the markers of used URLs that have expired: an expired URL is refused on
// its expiry alone, so its marker is no longer needed. New calls it; long-running servers may
// call it periodically. It returns how many markers it removed.
func (s *Store) PruneNonces() (int, error) {
	entries, err := os.ReadDir(s.noncesDir())
	if err != nil {
		return 0, fmt.Errorf("localblob: list used URLs: %w", err)
	}
	now := s.now().Unix()
	removed := 0
	for _, e := range entries {
		exp, _, ok := strings.Cut(e.Name(), "-")
		secs, err := strconv.ParseInt(exp, 10, 64)
		if !ok || err != nil || secs >= now {
			continue
		}
		if err := os.Remove(filepath.Join(s.noncesDir(), e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("localblob: prune used URLs: %w", err)
		}
		removed++
	}
	return removed, nil
}

func newNonce() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("localblob: nonce: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
