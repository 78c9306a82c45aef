// Package avatars hands out presigned uploads (avatars and question images) and notices their
// bytes arriving. Presigning writes nothing: the upload id is a signed intent (intent.go). Every
// source that learns of arrived bytes — the local blob store's PUT callback, the client's
// completion call, the blob store's object-created events — calls Arrived, which records the
// upload and its avatar.uploaded event in one transaction (the outbox relays the event). What
// happens next is the moderation workflow's job; it reports back through the store's
// SetUploadStatus.
package avatars

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/trivium-game/trivium/services"
)

// Defaults.
const (
	DefaultTTL = 10 * time.Minute
	// DefaultGrace is how long after its URL expired an upload that never arrived is still
	// reported as awaiting its bytes, so a PUT that started just before expiry is not declared
	// missing.
	DefaultGrace = time.Minute
	// KeyPrefix is where originals live: uploads/{playerId}/{uploadId}. It is private.
	KeyPrefix = "uploads/"
	// ReasonExpired is the reason of an upload whose URL expired without bytes.
	ReasonExpired = "the upload URL expired before an image was uploaded"
)

// Store keeps the records of uploads whose bytes arrived (services/sqlstore implements it).
type Store interface {
	// RecordArrival inserts u unless its id exists and, only then, adds ev to the outbox in the
	// same transaction; it reports whether it inserted.
	RecordArrival(ctx context.Context, u *services.Upload, ev *services.OutboxEvent) (bool, error)
	// Upload loads one upload; ENotFound when there is none.
	Upload(ctx context.Context, id string) (*services.Upload, error)
}

// Intent is the answer to POST /api/v1/avatars/uploads (and question-images/uploads).
type Intent struct {
	UploadID  string            `json:"uploadId"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expiresAt"`
}

// View is the answer to GET /api/v1/avatars/uploads/{id} and
// GET /api/v1/question-images/uploads/{id}. Avatar (for an avatar) or Image (for a question
// image) is set once accepted.
type View struct {
	UploadID string                `json:"uploadId"`
	Status   services.UploadStatus `json:"status"`
	Reason   string                `json:"reason"`
	Avatar   *AvatarView           `json:"avatar"`
	Image    *AvatarView           `json:"image,omitempty"`
}

// AvatarView holds the absolute CDN URLs of an accepted image (256 px and 64 px).
type AvatarView struct {
	URL          string `json:"url"`
	ThumbnailURL string `json:"thumbnailUrl"`
}

// Config configures a Service. Store, Blob and Secret are required.
type Config struct {
	Store  Store
	Blob   services.BlobStore
	Secret []byte // signs upload ids; at least 32 bytes, the same on every replica
	Kick   func() // wakes the outbox relay after an arrival was recorded; optional
	Limits services.UploadLimits
	CDNURL string // base URL of public images; resolved into View.Avatar
	Logger *slog.Logger
	Now    func() time.Time
	TTL    time.Duration // presigned PUT lifetime; DefaultTTL
	Grace  time.Duration // DefaultGrace
}

// Service is the upload side of the image pipeline.
type Service struct {
	cfg  Config
	sign signer
	log  *slog.Logger
}

// New checks cfg and fills defaults.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Blob == nil {
		return nil, errors.New("avatars: Store and Blob are required")
	}
	if len(cfg.Secret) < 32 {
		return nil, errors.New("avatars: Secret must be at least 32 bytes")
	}
	if cfg.Limits.MaxBytes <= 0 {
		cfg.Limits = services.DefaultUploadLimits()
	}
	if cfg.Kick == nil {
		cfg.Kick = func() {}
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
	return &Service{cfg: cfg, sign: signer{secret: cfg.Secret}, log: cfg.Logger}, nil
}

// Limits are what an upload may declare (served to clients).
func (s *Service) Limits() services.UploadLimits { return s.cfg.Limits }

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

// Create validates the declared type and length and presigns the PUT of a new upload for
// purpose (services.PurposeAvatar or services.PurposeQuestionImage). It only computes: the id
// is the signed intent, and the record is written when the bytes arrive. The key is under the
// caller's own prefix, so no player can name another's object.
func (s *Service) Create(ctx context.Context, purpose, playerID, contentType string, contentLength int64) (Intent, error) {
	problems := map[string]string{}
	if !s.cfg.Limits.Accepts(contentType) || indexOf(typeIndex, contentType) < 0 {
		problems["contentType"] = "must be one of " + strings.Join(s.cfg.Limits.ContentTypes, ", ")
	}
	switch {
	case contentLength < 1:
		problems["contentLength"] = "must be at least 1 byte"
	case contentLength > s.cfg.Limits.MaxBytes:
		problems["contentLength"] = fmt.Sprintf("must be at most %d bytes (%s)", s.cfg.Limits.MaxBytes, humanBytes(s.cfg.Limits.MaxBytes))
	}
	if err := services.Invalid(problems); err != nil {
		return Intent{}, err
	}
	if indexOf(purposes, purpose) < 0 {
		return Intent{}, fmt.Errorf("avatars: unknown upload purpose %q", purpose)
	}
	// The blob store's URL and the id expire together, at a whole second (the id keeps seconds).
	exp := s.cfg.Now().Add(s.cfg.TTL).Truncate(time.Second)
	id := s.sign.encode(intent{PlayerID: playerID, Purpose: purpose, ContentType: contentType,
		ContentLength: contentLength, ExpiresAt: exp})
	p, err := s.cfg.Blob.PresignPut(ctx, ObjectKey(playerID, id), contentType, contentLength, exp.Sub(s.cfg.Now()))
	if err != nil {
		return Intent{}, fmt.Errorf("presign upload: %w", err)
	}
	return Intent{UploadID: id, Method: p.Method, URL: p.URL, Headers: p.Headers, ExpiresAt: exp}, nil
}

func humanBytes(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// owned decodes an upload id of playerID for purpose; another player's id, a forged one or one
// of another purpose is "not found", not "forbidden", so ids cannot be probed.
func (s *Service) owned(purpose, playerID, uploadID string) (intent, error) {
	in, ok := s.sign.decode(playerID, uploadID)
	if !ok || in.Purpose != purpose {
		return intent{}, services.Errorf(services.ENotFound, "upload not found")
	}
	return in, nil
}

// Status reports an upload. It only reads: an upload whose bytes have not arrived is
// awaiting_upload until its URL expired (and the grace passed), then failed.
func (s *Service) Status(ctx context.Context, purpose, playerID, uploadID string) (View, error) {
	in, err := s.owned(purpose, playerID, uploadID)
	if err != nil {
		return View{}, err
	}
	u, err := s.record(ctx, in)
	if err != nil {
		return View{}, err
	}
	return s.view(in, u), nil
}

// record loads the upload's record; nil when its bytes have not arrived.
func (s *Service) record(ctx context.Context, in intent) (*services.Upload, error) {
	u, err := s.cfg.Store.Upload(ctx, in.ID)
	if services.ErrorCode(err) == services.ENotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if u.PlayerID != in.PlayerID {
		return nil, services.Errorf(services.ENotFound, "upload not found")
	}
	return u, nil
}

// expired reports an intent whose URL expired (plus the grace) without bytes.
func (s *Service) expired(in intent) bool { return s.cfg.Now().After(in.ExpiresAt.Add(s.cfg.Grace)) }

// Complete is POST …/uploads/{id}/complete: the client says the PUT is done. The object is
// checked with HEAD and, if there, arrives. Repeating it is harmless; completing an upload whose
// bytes never arrived is a conflict (or failed, once its URL expired).
func (s *Service) Complete(ctx context.Context, purpose, playerID, uploadID string) (View, error) {
	in, err := s.owned(purpose, playerID, uploadID)
	if err != nil {
		return View{}, err
	}
	u, err := s.record(ctx, in)
	if err != nil || u != nil {
		return s.view(in, u), err
	}
	found, err := s.arrived(ctx, in)
	if err != nil {
		return View{}, err
	}
	if !found {
		if s.expired(in) {
			return s.view(in, nil), nil
		}
		return View{}, services.Errorf(services.EConflict, "nothing has been uploaded for this upload yet")
	}
	if u, err = s.record(ctx, in); err != nil {
		return View{}, err
	}
	return s.view(in, u), nil
}

// Arrived is the one way in for a finished upload: the local blob store's PUT callback, the
// completion call and object-created events (S3 → SQS, versitygw → NATS) all end here. key is
// the object's key; keys that are not valid upload keys (outside the prefix, forged or altered
// ids) and objects that are not there are ignored (nil), so a stray event is not retried
// forever; store errors are returned to be retried. The first arrival of an upload records it
// with its avatar.uploaded event in one transaction; later ones change nothing.
func (s *Service) Arrived(ctx context.Context, key string) error {
	playerID, uploadID, ok := parseKey(key)
	if !ok {
		return nil
	}
	in, ok := s.sign.decode(playerID, uploadID)
	if !ok {
		s.log.Warn("avatars: an object arrived under an upload key that was not signed here", "key", key)
		return nil
	}
	_, err := s.arrived(ctx, in)
	return err
}

// arrived HEADs in's object and records its arrival; found reports whether the object was there.
func (s *Service) arrived(ctx context.Context, in intent) (found bool, err error) {
	key := ObjectKey(in.PlayerID, in.ID)
	info, err := s.cfg.Blob.Head(ctx, key)
	if services.ErrorCode(err) == services.ENotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("head upload: %w", err)
	}
	u := &services.Upload{ID: in.ID, PlayerID: in.PlayerID, Purpose: in.Purpose, Key: key, ContentType: in.ContentType,
		ContentLength: in.ContentLength, Status: services.UploadProcessing, ExpiresAt: in.ExpiresAt}
	if info.Size != in.ContentLength || !sameType(info.ContentType, in.ContentType) {
		// The drivers sign type and length, so this is a misbehaving store; never process it.
		u.Status = services.UploadRejected
		u.Reason = fmt.Sprintf("the uploaded object (%s, %d bytes) is not what was declared (%s, %d bytes)",
			info.ContentType, info.Size, in.ContentType, in.ContentLength)
		inserted, err := s.cfg.Store.RecordArrival(ctx, u, nil)
		if err != nil {
			return true, err
		}
		if inserted {
			if err := s.cfg.Blob.Delete(ctx, key); err != nil {
				s.log.Warn("avatars: delete mismatched upload", "upload", in.ID, "err", err)
			}
		}
		return true, nil
	}
	data, err := json.Marshal(services.AvatarUploaded{UploadID: in.ID, PlayerID: in.PlayerID, Purpose: in.Purpose,
		Key: key, ContentType: in.ContentType, Size: in.ContentLength})
	if err != nil {
		return true, err
	}
	// The message id is fixed per upload, so the bus drops a repeat of the relay.
	inserted, err := s.cfg.Store.RecordArrival(ctx, u, &services.OutboxEvent{Subject: services.SubjectAvatarUploaded,
		MsgID: "avatar.uploaded:" + in.ID, Data: data})
	if err != nil {
		return true, fmt.Errorf("record upload: %w", err)
	}
	if inserted {
		s.cfg.Kick()
	}
	return true, nil
}

func sameType(stored, declared string) bool {
	mt, _, _ := strings.Cut(stored, ";")
	return strings.EqualFold(strings.TrimSpace(mt), declared)
}

// OnPut adapts Arrived to the local blob store's callback after a presigned PUT committed.
// Failures are logged; the client's completion call tries again.
func (s *Service) OnPut(ctx context.Context, key string, _ services.BlobInfo) {
	if err := s.Arrived(ctx, key); err != nil {
		s.log.Warn("avatars: record arrived upload", "key", key, "err", err)
	}
}

func (s *Service) view(in intent, u *services.Upload) View {
	if u == nil {
		v := View{UploadID: in.ID, Status: services.UploadAwaiting}
		if s.expired(in) {
			v.Status, v.Reason = services.UploadFailed, ReasonExpired
		}
		return v
	}
	v := View{UploadID: u.ID, Status: u.Status, Reason: u.Reason}
	if u.Status == services.UploadAccepted && u.Avatar.Key != "" {
		img := &AvatarView{URL: services.PublicURL(s.cfg.CDNURL, u.Avatar.Key),
			ThumbnailURL: services.PublicURL(s.cfg.CDNURL, u.Avatar.ThumbKey)}
		if in.Purpose == services.PurposeQuestionImage {
			v.Image = img
		} else {
			v.Avatar = img
		}
	}
	return v
}

// OwnsImage checks that uploadID is one of ownerID's question-image uploads, whatever its status
// (quizzes.ImageOwners: an author may save a quiz whose image is still being moderated). It only
// decodes the signed id, so it holds before the bytes arrive too.
func (s *Service) OwnsImage(ownerID, uploadID string) error {
	if _, err := s.owned(services.PurposeQuestionImage, ownerID, uploadID); err != nil {
		return services.Invalid(map[string]string{"imageId": "must be the uploadId of one of your question-image uploads"})
	}
	return nil
}

// ImageURL resolves an accepted question image of ownerID's to its immutable CDN URL
// (quizzes.QuestionImages). Another player's id, and an image that is not accepted (yet), are
// EInvalid on imageId, saying why.
func (s *Service) ImageURL(ctx context.Context, ownerID, uploadID string) (string, error) {
	if err := s.OwnsImage(ownerID, uploadID); err != nil {
		return "", err
	}
	in, _ := s.owned(services.PurposeQuestionImage, ownerID, uploadID)
	u, err := s.record(ctx, in)
	if err != nil {
		return "", err
	}
	v := s.view(in, u)
	if v.Image == nil {
		msg := fmt.Sprintf("the image is %s: a quiz can be hosted once every image is accepted", v.Status)
		if v.Status == services.UploadRejected || v.Status == services.UploadFailed {
			msg = fmt.Sprintf("the image was %s: choose another image for this question", v.Status)
		}
		return "", services.Invalid(map[string]string{"imageId": msg})
	}
	return v.Image.URL, nil
}
