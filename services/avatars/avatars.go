// Package avatars records avatar upload intents and announces completed uploads: it hands out
// presigned PUTs under the caller's own key prefix, notices the bytes arriving (the local blob
// store's OnPut callback, or a HEAD from the completion call and the status endpoint for S3) and
// publishes avatar.uploaded exactly once per upload. What happens next is the moderation
// workflow's job; it reports back through Store.SetStatus.
package avatars

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/trivium-game/trivium/services"
)

// Upload statuses, as GET /api/v1/avatars/uploads/{id} reports them.
const (
	StatusAwaitingUpload = "awaiting_upload"
	StatusProcessing     = "processing"
	StatusInReview       = "in_review"
	StatusAccepted       = "accepted"
	StatusRejected       = "rejected"
	StatusFailed         = "failed"
)

// Defaults and limits.
const (
	MaxContentLength = 5 << 20
	DefaultTTL       = 10 * time.Minute
	// DefaultGrace is how long after its URL expired an upload that never arrived is still
	// looked for, so a PUT that started just before expiry is not declared missing.
	DefaultGrace = time.Minute
	// DefaultSweepInterval is how often Run re-announces completed uploads whose event did not
	// reach the bus.
	DefaultSweepInterval = 5 * time.Second
	// KeyPrefix is where originals live: uploads/{playerId}/{uploadId}. It is private.
	KeyPrefix = "uploads/"
)

// ContentTypes are the accepted declared types.
var ContentTypes = []string{"image/jpeg", "image/png", "image/webp"}

// Upload is one upload intent and what became of it.
type Upload struct {
	ID            string
	PlayerID      string
	Key           string // the private original
	ContentType   string
	ContentLength int64
	Status        string
	Reason        string
	Avatar        services.Avatar // keys of the published images once accepted
	Announced     bool            // avatar.uploaded is on the bus
	CreatedAt     time.Time
	ExpiresAt     time.Time
	UpdatedAt     time.Time
}

// Intent is the answer to POST /api/v1/avatars/uploads.
type Intent struct {
	UploadID  string            `json:"uploadId"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expiresAt"`
}

// View is the answer to GET /api/v1/avatars/uploads/{id}. Avatar is set once accepted.
type View struct {
	UploadID string      `json:"uploadId"`
	Status   string      `json:"status"`
	Reason   string      `json:"reason"`
	Avatar   *AvatarView `json:"avatar"`
}

// AvatarView holds the absolute CDN URLs of an accepted avatar (256 px and 64 px).
type AvatarView struct {
	URL          string `json:"url"`
	ThumbnailURL string `json:"thumbnailUrl"`
}

// Config configures a Service. Store, Blob and Bus are required.
type Config struct {
	Store  *Store
	Blob   services.BlobStore
	Bus    services.Bus
	CDNURL string // base URL of public images; resolved into View.Avatar
	Logger *slog.Logger
	Now    func() time.Time
	TTL    time.Duration // presigned PUT lifetime; DefaultTTL
	Grace  time.Duration // DefaultGrace
	Sweep  time.Duration // DefaultSweepInterval
}

// Service is the upload side of the avatar pipeline.
type Service struct {
	cfg Config
	log *slog.Logger
}

// New checks cfg and fills defaults.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Blob == nil || cfg.Bus == nil {
		return nil, fmt.Errorf("avatars: Store, Blob and Bus are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Sweep <= 0 {
		cfg.Sweep = DefaultSweepInterval
	}
	return &Service{cfg: cfg, log: cfg.Logger}, nil
}

// newID is 128 random bits in lower-case base32: safe in keys, URLs and file names.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// ObjectKey is where the original of an upload lives.
func ObjectKey(playerID, uploadID string) string { return KeyPrefix + playerID + "/" + uploadID }

// parseKey is the inverse of ObjectKey.
func parseKey(key string) (playerID, uploadID string, ok bool) {
	rest, ok := strings.CutPrefix(key, KeyPrefix)
	if !ok {
		return "", "", false
	}
	playerID, uploadID, ok = strings.Cut(rest, "/")
	return playerID, uploadID, ok && playerID != "" && uploadID != "" && !strings.Contains(uploadID, "/")
}

// Create validates the declared type and length, records the upload and presigns its PUT. The
// key is random and under the caller's own prefix, so no player can name another's object.
func (s *Service) Create(ctx context.Context, playerID, contentType string, contentLength int64) (Intent, error) {
	problems := map[string]string{}
	if !acceptedType(contentType) {
		problems["contentType"] = "must be one of " + strings.Join(ContentTypes, ", ")
	}
	switch {
	case contentLength < 1:
		problems["contentLength"] = "must be at least 1 byte"
	case contentLength > MaxContentLength:
		problems["contentLength"] = fmt.Sprintf("must be at most %d bytes (5 MiB)", MaxContentLength)
	}
	if err := services.Invalid(problems); err != nil {
		return Intent{}, err
	}
	id := newID()
	key := ObjectKey(playerID, id)
	p, err := s.cfg.Blob.PresignPut(ctx, key, contentType, contentLength, s.cfg.TTL)
	if err != nil {
		return Intent{}, fmt.Errorf("presign upload: %w", err)
	}
	u := &Upload{ID: id, PlayerID: playerID, Key: key, ContentType: contentType, ContentLength: contentLength, ExpiresAt: p.ExpiresAt}
	if err := s.cfg.Store.Create(ctx, u); err != nil {
		return Intent{}, err
	}
	return Intent{UploadID: id, Method: p.Method, URL: p.URL, Headers: p.Headers, ExpiresAt: p.ExpiresAt}, nil
}

func acceptedType(ct string) bool {
	for _, t := range ContentTypes {
		if ct == t {
			return true
		}
	}
	return false
}

// owned loads an upload of playerID; another player's upload is "not found", not "forbidden",
// so ids cannot be probed.
func (s *Service) owned(ctx context.Context, playerID, uploadID string) (*Upload, error) {
	u, err := s.cfg.Store.Get(ctx, uploadID)
	if err != nil {
		return nil, err
	}
	if u.PlayerID != playerID {
		return nil, services.Errorf(services.ENotFound, "upload not found")
	}
	return u, nil
}

// Status reports an upload. While it awaits its bytes, it looks for them (HEAD) so S3 uploads
// progress without the completion call.
func (s *Service) Status(ctx context.Context, playerID, uploadID string) (View, error) {
	u, err := s.owned(ctx, playerID, uploadID)
	if err != nil {
		return View{}, err
	}
	if u, _, err = s.check(ctx, u); err != nil {
		return View{}, err
	}
	return s.view(u), nil
}

// Complete is POST /api/v1/avatars/uploads/{id}/complete: the client says the PUT is done. The
// object is checked with HEAD and announced. Repeating it is harmless; completing an upload
// whose bytes never arrived is a conflict.
func (s *Service) Complete(ctx context.Context, playerID, uploadID string) (View, error) {
	u, err := s.owned(ctx, playerID, uploadID)
	if err != nil {
		return View{}, err
	}
	u, found, err := s.check(ctx, u)
	if err != nil {
		return View{}, err
	}
	if !found && u.Status == StatusAwaitingUpload {
		return View{}, services.Errorf(services.EConflict, "nothing has been uploaded for this upload yet")
	}
	return s.view(u), nil
}

// check moves an upload on from awaiting_upload when its object exists (or its URL is long
// expired) and re-announces a completed upload whose event never reached the bus. found
// reports whether the object was there.
func (s *Service) check(ctx context.Context, u *Upload) (*Upload, bool, error) {
	if u.Status != StatusAwaitingUpload {
		if u.Status == StatusProcessing && !u.Announced {
			if err := s.announce(ctx, u); err != nil {
				return nil, false, err
			}
		}
		return u, true, nil
	}
	info, err := s.cfg.Blob.Head(ctx, u.Key)
	if services.ErrorCode(err) == services.ENotFound {
		if s.cfg.Now().After(u.ExpiresAt.Add(s.cfg.Grace)) {
			if _, err := s.cfg.Store.transition(ctx, u.ID, StatusAwaitingUpload, StatusFailed,
				"the upload URL expired before an image was uploaded"); err != nil {
				return nil, false, err
			}
			u, err = s.cfg.Store.Get(ctx, u.ID)
			return u, false, err
		}
		return u, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("head upload: %w", err)
	}
	if err := s.completed(ctx, u, info); err != nil {
		return nil, false, err
	}
	u, err = s.cfg.Store.Get(ctx, u.ID)
	return u, true, err
}

// completed handles an object that arrived for u: the first completion moves the upload to
// processing and announces it; later ones (duplicate callbacks, replayed S3 URLs) change nothing.
func (s *Service) completed(ctx context.Context, u *Upload, info services.BlobInfo) error {
	if info.Size != u.ContentLength || !sameType(info.ContentType, u.ContentType) {
		// The drivers sign type and length, so this is a misbehaving store; never process it.
		reason := fmt.Sprintf("the uploaded object (%s, %d bytes) is not what was declared (%s, %d bytes)",
			info.ContentType, info.Size, u.ContentType, u.ContentLength)
		moved, err := s.cfg.Store.transition(ctx, u.ID, StatusAwaitingUpload, StatusRejected, reason)
		if err != nil {
			return err
		}
		if moved {
			if err := s.cfg.Blob.Delete(ctx, u.Key); err != nil {
				s.log.Warn("avatars: delete mismatched upload", "upload", u.ID, "err", err)
			}
		}
		return nil
	}
	moved, err := s.cfg.Store.transition(ctx, u.ID, StatusAwaitingUpload, StatusProcessing, "")
	if err != nil || !moved {
		return err
	}
	u.Status = StatusProcessing
	return s.announce(ctx, u)
}

func sameType(stored, declared string) bool {
	mt, _, _ := strings.Cut(stored, ";")
	return strings.EqualFold(strings.TrimSpace(mt), declared)
}

// announce publishes avatar.uploaded. The message id is fixed per upload, so the bus drops the
// repeats that crash recovery and the sweeper may send.
func (s *Service) announce(ctx context.Context, u *Upload) error {
	data, err := json.Marshal(services.AvatarUploaded{UploadID: u.ID, PlayerID: u.PlayerID, Key: u.Key,
		ContentType: u.ContentType, Size: u.ContentLength})
	if err != nil {
		return err
	}
	if err := s.cfg.Bus.Publish(ctx, services.SubjectAvatarUploaded, "avatar.uploaded:"+u.ID, data); err != nil {
		return fmt.Errorf("announce upload: %w", err)
	}
	return s.cfg.Store.MarkAnnounced(ctx, u.ID)
}

// OnPut is the local blob store's callback after a presigned PUT committed: it completes the
// upload at once. Failures are logged; the status endpoint and Run pick the upload up again.
func (s *Service) OnPut(ctx context.Context, key string, info services.BlobInfo) {
	playerID, uploadID, ok := parseKey(key)
	if !ok {
		return
	}
	u, err := s.cfg.Store.Get(ctx, uploadID)
	if err != nil {
		s.log.Warn("avatars: upload arrived for an unknown upload", "key", key, "err", err)
		return
	}
	if u.PlayerID != playerID || u.Key != key || u.Status != StatusAwaitingUpload {
		return
	}
	if err := s.completed(ctx, u, info); err != nil {
		s.log.Warn("avatars: announce upload", "upload", uploadID, "err", err)
	}
}

// Run re-announces, until ctx ends, completed uploads whose avatar.uploaded did not reach the
// bus (the bus was down when the bytes arrived, or the process died in between).
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Sweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("avatars: sweep", "err", err)
		}
	}
}

// Sweep announces every completed upload whose event is not on the bus yet.
func (s *Service) Sweep(ctx context.Context) error {
	us, err := s.cfg.Store.Unannounced(ctx, 100)
	if err != nil {
		return err
	}
	for _, u := range us {
		if err := s.announce(ctx, u); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) view(u *Upload) View {
	v := View{UploadID: u.ID, Status: u.Status, Reason: u.Reason}
	if u.Status == StatusAccepted && u.Avatar.Key != "" {
		v.Avatar = &AvatarView{URL: services.PublicURL(s.cfg.CDNURL, u.Avatar.Key),
			ThumbnailURL: services.PublicURL(s.cfg.CDNURL, u.Avatar.ThumbKey)}
	}
	return v
}

// ObjectCreated handles a blob store's "object created" notification (S3 → EventBridge → SQS, or
// versitygw's event sink): the object is checked with HEAD and its upload completed, exactly
// like POST …/complete. Keys outside the upload prefix and unknown uploads are ignored (nil),
// so a stray or test event is not retried forever; store errors are returned to be retried.
func (s *Service) ObjectCreated(ctx context.Context, key string) error {
	playerID, uploadID, ok := parseKey(key)
	if !ok {
		return nil
	}
	u, err := s.cfg.Store.Get(ctx, uploadID)
	if services.ErrorCode(err) == services.ENotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if u.PlayerID != playerID || u.Key != key {
		return nil
	}
	_, _, err = s.check(ctx, u)
	return err
}
