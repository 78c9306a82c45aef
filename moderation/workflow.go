package moderation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/trivium-game/trivium/services"
)

// Workflow steps, in the order an upload goes through them. The step a job has recorded is the
// last one whose effects are complete; a redelivery resumes after it.
//
//	received → validated ─┬─ (rejected) ───────────────────────────────────────┐
//	                      └→ moderated ─┬─ accepted → published → profiled ───────┤
//	                                    ├─ rejected ──────────────────────────────┤
//	                                    └─ in_review → case_opened ⋯ decided ─┬─ accepted → published …
//	                                                                          └─ rejected ─┤
//	                                                                      cleaned ← ────────┘ → emitted
//
// A question image goes the same way; its profiled step changes nothing (no profile shows it).
const (
	StepReceived   = "received"    // the job exists
	StepValidated  = "validated"   // the bytes are an acceptable image (or the outcome is rejected)
	StepModerated  = "moderated"   // the detector and the policy decided
	StepCaseOpened = "case_opened" // a review case waits for a moderator; the workflow stops here
	StepDecided    = "decided"     // a moderator decided; the workflow resumes
	StepPublished  = "published"   // the images are derived once and stored under content-hashed public keys
	StepProfiled   = "profiled"    // the player's avatar points at them (avatars only)
	StepCleaned    = "cleaned"     // the private original is deleted
	StepEmitted    = "emitted"     // the final status and avatar.processed are committed (the outbox relays it)
)

// Defaults for Config.
const (
	DefaultMaxDeliver  = 6
	DefaultWorkers     = 2
	DefaultImageURLTTL = 5 * time.Minute
	// DefaultStepBudget bounds each image job (a decode, a local screen, the thumbnails). The
	// costliest image the limits admit (4096×4096, 100 progressive scans) decodes in a few
	// seconds on one core; honest photos take well under a second.
	DefaultStepBudget = 10 * time.Second
	// PublicCacheControl is sent with derived images: their keys are hashes of their content
	// (and of the player), so they never change and may be cached forever.
	PublicCacheControl = "public, max-age=31536000, immutable"
	// PublicPrefix is where derived avatar images are published.
	PublicPrefix = "public/avatars/"
	// QuestionImagePrefix is where derived question images are published.
	QuestionImagePrefix = "public/questions/"
	// ConsumerName is the workflow's durable consumer.
	ConsumerName = "moderation"
)

// Players is the part of services.PlayerStore the workflow uses.
type Players interface {
	PlayerByID(ctx context.Context, id string) (*services.Player, error)
	PlayersByID(ctx context.Context, ids []string) (map[string]*services.Player, error)
	SetAvatar(ctx context.Context, playerID string, a services.Avatar) error
	AvatarKeyInUse(ctx context.Context, key, exceptPlayerID string) (bool, error)
}

// CaseStore keeps the review cases, the reports and the audit log, and does what moderator
// actions change elsewhere (services/sqlstore.DB implements it).
type CaseStore interface {
	OpenCase(ctx context.Context, c *services.ModerationCase) (created bool, err error)
	CaseByID(ctx context.Context, id string) (*services.ModerationCase, error)
	ListCases(ctx context.Context, f services.CaseFilter) ([]*services.ModerationCase, error)
	DecideCase(ctx context.Context, w services.CaseDecisionWrite) (*services.ModerationCase, error)
	AddReport(ctx context.Context, r *services.Report, c *services.ModerationCase, since time.Time, max int) error
	CaseReports(ctx context.Context, caseID string) ([]services.Report, error)
	CaseAudit(ctx context.Context, caseID string) ([]services.AuditEntry, error)
	Audit(ctx context.Context, before int64, limit int) ([]services.AuditEntry, error)
	SuspendPlayer(ctx context.Context, playerID string, until time.Time) error
	MutePlayer(ctx context.Context, playerID string, until time.Time) error
	HideQuiz(ctx context.Context, quizID, reason string) error
	QuizByID(ctx context.Context, id string) (*services.Quiz, error)
	UpdateDisplayName(ctx context.Context, id, displayName string) error
}

// Uploads receives the upload status the player sees (services/sqlstore implements it).
type Uploads interface {
	SetUploadStatus(ctx context.Context, uploadID string, status services.UploadStatus, reason string, a services.Avatar) error
}

// Config configures a Workflow. Jobs, Blob, Bus, Players, Uploads and Cases are required.
type Config struct {
	Jobs    Jobs // the jobs and the outcomes they announce (services/sqlstore)
	Blob    services.BlobStore
	Bus     services.Bus
	Players Players
	Uploads Uploads
	Cases   CaseStore // the review cases, reports and audit log (services/sqlstore)
	// OnSuspend, if set, runs once a suspension is stored: it closes the player's sockets on
	// every gateway (their sessions are already revoked).
	OnSuspend func(playerID string)
	// Kick, if set, wakes the outbox relay after a step or an action queued an event.
	Kick     func()
	Detector Detector // LocalDetector{} when nil
	Policy   Policy
	Limits   Limits
	Logger   *slog.Logger
	Now      func() time.Time

	MaxDeliver  int             // attempts before dead-lettering; DefaultMaxDeliver
	Backoff     []time.Duration // retry schedule; the bus's default when nil
	Workers     int             // uploads processed at once; DefaultWorkers or ImageWorkers if more
	ImageURLTTL time.Duration   // lifetime of the signed image URLs moderators get; DefaultImageURLTTL

	// ImageWorkers is how many image jobs (decode, local screen, thumbnails: the CPU-bound work)
	// run at once across all uploads; the number of cores when zero. A job keeps its worker
	// until it really ends, even after its upload was rejected for running past StepBudget, so
	// the CPU spent on images never exceeds ImageWorkers cores.
	ImageWorkers int
	// StepBudget is how long one image job may take once it has a worker; past it the upload is
	// rejected with a reason (retrying the same bytes would take as long). DefaultStepBudget.
	StepBudget time.Duration
	// AfterImageJob, if set, is called when an image job ends, with its kind ("decode",
	// "screen", "thumbnail"), in the goroutine that ran it: tests count decodes with it.
	AfterImageJob func(kind string)

	// AfterStep, if set, is called after the effects of each step, once before the step is
	// recorded (recorded=false) and once after (recorded=true). An error stops the run there
	// as a crash would: tests use it to inject faults between every pair of steps.
	AfterStep func(step string, recorded bool) error
}

// Workflow is the durable avatar state machine: a consumer of avatar.uploaded that validates,
// moderates, thumbnails, publishes and records the outcome of each upload, plus the human review
// cases it opens. Every step is idempotent and recorded, so a redelivery after a crash resumes at
// the recorded step and an outcome is never applied or announced twice.
type Workflow struct {
	cfg Config
	log *slog.Logger
	// locks serialise runs of one upload inside this process (a redelivery racing a moderator's
	// resume); across processes the compare-and-set on the step keeps them apart.
	locks [64]sync.Mutex
	// imageSlots holds one token per running image job (Config.ImageWorkers).
	imageSlots chan struct{}
}

// NewWorkflow checks cfg and fills defaults. Its tables are in services/sqlstore's migrations.
func NewWorkflow(cfg Config) (*Workflow, error) {
	if cfg.Jobs == nil || cfg.Blob == nil || cfg.Bus == nil || cfg.Players == nil || cfg.Uploads == nil || cfg.Cases == nil {
		return nil, errors.New("moderation: Jobs, Blob, Bus, Players, Uploads and Cases are required")
	}
	if cfg.Kick == nil {
		cfg.Kick = func() {}
	}
	if cfg.Detector == nil {
		cfg.Detector = LocalDetector{Limits: cfg.Limits}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxDeliver <= 0 {
		cfg.MaxDeliver = DefaultMaxDeliver
	}
	if cfg.ImageWorkers <= 0 {
		cfg.ImageWorkers = runtime.GOMAXPROCS(0)
	}
	if cfg.Workers <= 0 {
		// Enough deliveries to keep every image worker busy while others wait on I/O.
		cfg.Workers = max(DefaultWorkers, cfg.ImageWorkers)
	}
	if cfg.ImageURLTTL <= 0 {
		cfg.ImageURLTTL = DefaultImageURLTTL
	}
	if cfg.StepBudget <= 0 {
		cfg.StepBudget = DefaultStepBudget
	}
	return &Workflow{cfg: cfg, log: cfg.Logger, imageSlots: make(chan struct{}, cfg.ImageWorkers)}, nil
}

// Run consumes avatar.uploaded until ctx ends.
func (w *Workflow) Run(ctx context.Context) error {
	return w.cfg.Bus.Consume(ctx, services.ConsumerConfig{Name: ConsumerName, Subjects: []string{services.SubjectAvatarUploaded},
		MaxDeliver: w.cfg.MaxDeliver, Backoff: w.cfg.Backoff, Workers: w.cfg.Workers}, w.Handle)
}

// Handle processes one avatar.uploaded delivery. A nil return means the upload has reached an
// outcome or is waiting for a moderator. Images that are unacceptable are outcomes, not
// errors; errors are transient (the bus retries) or marked services.Permanent. When an error
// will not be retried, the upload is marked failed so the player is not left waiting; an
// operator's redrive resumes it.
func (w *Workflow) Handle(ctx context.Context, m services.Message) error {
	var ev services.AvatarUploaded
	if err := json.Unmarshal(m.Data, &ev); err != nil {
		return services.Permanent(fmt.Errorf("avatar.uploaded %s: %w", m.ID, err))
	}
	if ev.UploadID == "" || ev.PlayerID == "" || ev.Key == "" {
		return services.Permanent(fmt.Errorf("avatar.uploaded %s: uploadId, playerId and key are required", m.ID))
	}
	mu := w.lock(ev.UploadID)
	mu.Lock()
	defer mu.Unlock()
	j, created, err := w.ensureJob(ctx, ev)
	if err == nil && !created && !waiting(j.Step) {
		// A retry or a redrive: the player may have been told it failed; it is being worked on again.
		err = w.cfg.Uploads.SetUploadStatus(ctx, ev.UploadID, services.UploadProcessing, "", services.Avatar{})
	}
	if err == nil {
		err = w.drive(ctx, j)
	}
	if err != nil && (services.IsPermanent(err) || m.Delivered >= w.cfg.MaxDeliver) && ctx.Err() == nil {
		w.log.Error("moderation: upload failed; it is dead-lettered for an operator", "upload", ev.UploadID, "err", err)
		if serr := w.cfg.Uploads.SetUploadStatus(ctx, ev.UploadID, services.UploadFailed,
			"processing failed; an operator has been told and can retry it", services.Avatar{}); serr != nil {
			w.log.Warn("moderation: mark upload failed", "upload", ev.UploadID, "err", serr)
		}
	}
	return err
}

// waiting reports steps at which a delivery has nothing to do.
func waiting(step string) bool { return step == StepCaseOpened || step == StepEmitted }

func (w *Workflow) lock(uploadID string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(uploadID))
	return &w.locks[h.Sum32()%uint32(len(w.locks))]
}

// resume continues a job from its recorded step (after a moderator's decision).
func (w *Workflow) resume(ctx context.Context, uploadID string) error {
	mu := w.lock(uploadID)
	mu.Lock()
	defer mu.Unlock()
	j, err := w.job(ctx, uploadID)
	if err != nil {
		return err
	}
	return w.drive(ctx, j)
}

// run holds what one run has read or made, so steps need not fetch, decode or derive twice; a
// resumed run starts empty and re-reads (and decodes at most once more).
type run struct {
	original []byte
	img      image.Image
	derived  []Derived
	// outcome, set by a step, is recorded with the step in one transaction.
	outcome *services.UploadOutcome
}

// drive runs steps until the job waits or is done. Each step computes the next state from the
// current one, does its effects (all idempotent), and records the new step with a
// compare-and-set; if another runner recorded first, the job is reloaded.
func (w *Workflow) drive(ctx context.Context, j *job) error {
	var r run
	for !waiting(j.Step) {
		next := *j
		var err error
		switch {
		case j.Step == StepReceived:
			err = w.validate(ctx, &r, &next)
		case j.Step == StepValidated && j.Outcome != DecisionRejected:
			err = w.moderate(ctx, &r, &next)
		case (j.Step == StepModerated || j.Step == StepDecided || j.Step == stepThumbnailed) && j.Outcome == DecisionAccepted:
			err = w.publish(ctx, &r, &next)
		case (j.Step == StepModerated || j.Step == StepDecided) && j.Outcome == DecisionInReview:
			err = w.openCase(ctx, &r, &next)
		case j.Step == StepPublished:
			err = w.profile(ctx, &next)
		case j.Step == StepProfiled, j.Outcome == DecisionRejected && j.Step != StepCleaned:
			err = w.clean(ctx, &next)
		case j.Step == StepCleaned:
			err = w.emit(ctx, &r, &next)
		default:
			return services.Permanent(fmt.Errorf("upload %s: no transition from step %q with outcome %q", j.UploadID, j.Step, j.Outcome))
		}
		if err != nil {
			return fmt.Errorf("upload %s after %s: %w", j.UploadID, j.Step, err)
		}
		if err := w.hook(next.Step, false); err != nil {
			return err
		}
		err = w.advance(ctx, j.Step, &next, r.outcome)
		announced := r.outcome != nil && len(r.outcome.Events) > 0
		r.outcome = nil
		if errors.Is(err, errMoved) {
			if j, err = w.job(ctx, j.UploadID); err != nil {
				return err
			}
			r = run{}
			continue
		}
		if err != nil {
			return err
		}
		if announced {
			w.cfg.Kick()
		}
		if err := w.hook(next.Step, true); err != nil {
			return err
		}
		j = &next
	}
	return nil
}

func (w *Workflow) hook(step string, recorded bool) error {
	if w.cfg.AfterStep == nil {
		return nil
	}
	return w.cfg.AfterStep(step, recorded)
}

// original reads the uploaded bytes. Once validated, the bytes must hash to what was validated:
// an S3 presigned URL can be replayed until it expires, and a replaced object must never be
// published on the strength of the checks its predecessor passed.
func (w *Workflow) original(ctx context.Context, r *run, j *job) ([]byte, error) {
	if r.original != nil {
		return r.original, nil
	}
	rc, _, err := w.cfg.Blob.Get(ctx, j.Key)
	if services.ErrorCode(err) == services.ENotFound {
		return nil, services.Permanent(fmt.Errorf("the original %s is gone", j.Key))
	}
	if err != nil {
		return nil, fmt.Errorf("read original: %w", err)
	}
	defer rc.Close()
	data, err := ReadImage(rc, w.cfg.Limits)
	if err != nil {
		return nil, err
	}
	r.original = data
	return data, nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// reasonReplaced rejects an original whose bytes changed after validation.
const reasonReplaced = "the uploaded file changed after it was checked"

// checked returns the original if it is still the validated one; otherwise it turns next into a
// rejection and returns nil.
func (w *Workflow) checked(ctx context.Context, r *run, next *job) ([]byte, error) {
	data, err := w.original(ctx, r, next)
	if IsRejection(err) || (err == nil && digest(data) != next.SHA256) {
		next.Step, next.Outcome, next.Reason = StepModerated, DecisionRejected, reasonReplaced
		return nil, nil
	}
	return data, err
}

func (w *Workflow) validate(ctx context.Context, r *run, next *job) error {
	next.Step = StepValidated
	data, err := w.original(ctx, r, next)
	var rej *Rejection
	if errors.As(err, &rej) {
		next.Outcome, next.Reason = DecisionRejected, rej.Reason
		return nil
	}
	if err != nil {
		return err
	}
	info, err := Inspect(data, next.ContentType, w.cfg.Limits)
	if err == nil {
		r.img, info, err = w.decode(ctx, data, info)
	}
	if errors.As(err, &rej) {
		next.Outcome, next.Reason = DecisionRejected, rej.Reason
		return nil
	}
	if err != nil {
		return err
	}
	next.Info, next.SHA256 = info, digest(data)
	return nil
}

// decode decodes the original on an image worker within the step budget.
func (w *Workflow) decode(ctx context.Context, data []byte, info ImageInfo) (image.Image, ImageInfo, error) {
	type decoded struct {
		img  image.Image
		info ImageInfo
	}
	d, err := imageJob(ctx, w, "decode", func(context.Context) (decoded, error) {
		img, info, err := Decode(data, info)
		return decoded{img, info}, err
	})
	return d.img, d.info, err
}

// image returns the run's decoded original, decoding it if this run has not yet. A nil image
// with a nil error means next was turned into a rejection.
func (w *Workflow) image(ctx context.Context, r *run, next *job) (image.Image, error) {
	if r.img != nil {
		return r.img, nil
	}
	data, err := w.checked(ctx, r, next)
	if err != nil || data == nil {
		return nil, err
	}
	img, _, err := w.decode(ctx, data, next.Info)
	if IsRejection(err) {
		next.Step, next.Outcome, next.Reason = StepModerated, DecisionRejected, err.Error()
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.img = img
	return img, nil
}

// imageJob runs fn on one of the workflow's image workers, waiting for a free one as long as ctx
// allows. Once it has a worker, fn gets Config.StepBudget: past it the caller gets a *Rejection
// and goes on, while fn — whose context is then cancelled, which ThumbnailImage checks between
// its stages but a decoder cannot — keeps the worker until it returns. The image limits bound
// how long that can be.
func imageJob[T any](ctx context.Context, w *Workflow, kind string, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	select {
	case w.imageSlots <- struct{}{}:
	case <-ctx.Done():
		return zero, ctx.Err()
	}
	jctx, cancel := context.WithTimeout(ctx, w.cfg.StepBudget)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() { <-w.imageSlots }()
		v, err := fn(jctx)
		if w.cfg.AfterImageJob != nil {
			w.cfg.AfterImageJob(kind)
		}
		done <- result{v, err}
	}()
	select {
	case res := <-done:
		if res.err != nil && jctx.Err() != nil && ctx.Err() == nil {
			break // fn noticed the budget: the same outcome as abandoning it
		}
		return res.v, res.err
	case <-jctx.Done():
	}
	if err := ctx.Err(); err != nil {
		return zero, err // the delivery ended (shutdown); a redelivery tries again
	}
	w.log.Warn("moderation: image job over its budget; rejecting the upload", "job", kind, "budget", w.cfg.StepBudget)
	return zero, reject("processing the image took longer than the %s limit; upload a smaller or simpler image", w.cfg.StepBudget)
}

func (w *Workflow) moderate(ctx context.Context, r *run, next *job) error {
	var labels []Label
	var err error
	if d, ok := w.cfg.Detector.(ImageDetector); ok {
		// In-process screening reads the pixels this run decoded, on an image worker.
		img, ierr := w.image(ctx, r, next)
		if ierr != nil || img == nil {
			return ierr
		}
		labels, err = imageJob(ctx, w, "screen", func(ctx context.Context) ([]Label, error) { return d.DetectImage(ctx, img) })
		if IsRejection(err) {
			next.Step, next.Outcome, next.Reason = StepModerated, DecisionRejected, err.Error()
			return nil
		}
	} else {
		data, cerr := w.checked(ctx, r, next)
		if cerr != nil || data == nil {
			return cerr
		}
		labels, err = w.cfg.Detector.Detect(ctx, data, next.Info.ContentType)
	}
	next.Step = StepModerated
	if err != nil {
		if !IsPermanent(err) {
			return fmt.Errorf("moderate: %w", err)
		}
		// The classifier cannot read an image that validation accepted: a person must look.
		next.Labels, next.Outcome = []Label{}, DecisionInReview
		next.Reason = "automatic screening could not process this image; a moderator will look at it"
		w.log.Warn("moderation: detector refused a valid image", "upload", next.UploadID, "err", err)
		return nil
	}
	if labels == nil {
		labels = []Label{}
	}
	decision, reason := w.cfg.Policy.Decide(labels)
	next.Labels, next.Outcome, next.Reason = labels, decision, reason
	return nil
}

func (w *Workflow) openCase(ctx context.Context, r *run, next *job) error {
	next.Step = StepCaseOpened
	labels, err := json.Marshal(next.Labels)
	if err != nil {
		return err
	}
	kind := services.ContentAvatar
	if next.question() {
		kind = services.ContentQuestionImage
	}
	c := &services.ModerationCase{Kind: CaseUpload, ContentKind: kind, TargetID: next.UploadID,
		Dedupe: CaseUpload + ":" + next.UploadID, UploadID: next.UploadID, PlayerID: next.PlayerID, ImageKey: next.Key,
		Labels: labels, Reason: next.Reason}
	if _, err := w.cfg.Cases.OpenCase(ctx, c); err != nil {
		return err
	}
	r.outcome = &services.UploadOutcome{UploadID: next.UploadID, Status: DecisionInReview, Reason: next.Reason}
	return nil
}

// derive makes the thumbnails (deterministic, so a rerun yields the same keys).
func (w *Workflow) derive(ctx context.Context, r *run, next *job) (bool, error) {
	if r.derived != nil {
		return true, nil
	}
	img, err := w.image(ctx, r, next)
	if err != nil || img == nil {
		return false, err
	}
	info := next.Info
	ds, err := imageJob(ctx, w, "thumbnail", func(ctx context.Context) ([]Derived, error) { return ThumbnailImage(ctx, img, info) })
	if IsRejection(err) {
		next.Step, next.Outcome, next.Reason = StepModerated, DecisionRejected, err.Error()
		return false, nil
	}
	if err != nil {
		// Validation accepted these bytes; a thumbnailer that cannot read them will not on a retry.
		return false, services.Permanent(err)
	}
	r.derived = ds
	for _, d := range ds {
		key := publicKey(next, d)
		switch d.Size {
		case LargeThumbnail:
			next.AvatarKey = key
		case SmallThumbnail:
			next.ThumbKey = key
		}
	}
	return true, nil
}

// publicKey names a derived image by the hash of its owner and its content. Per player, not by
// content alone: two players who upload the same file would otherwise share one object, and
// taking down one player's avatar (a report upheld) would delete the image the other's accepted
// avatar still shows. Keys per player need no reference counts to keep consistent across the
// database and the blob store, and a duplicate costs only a few kilobytes. The player's id is
// hashed rather than spelled out so an image URL does not name the account.
// Question images are named the same way under their own prefix.
func publicKey(j *job, d Derived) string {
	sum := sha256.Sum256([]byte(j.PlayerID + "\x00" + d.SHA256))
	prefix := PublicPrefix
	if j.question() {
		prefix = QuestionImagePrefix
	}
	return prefix + hex.EncodeToString(sum[:]) + d.Ext()
}

// stepThumbnailed is where jobs recorded before the thumbnail and publish steps became one may
// still stand; such a job goes on with publish, which derives again (the keys are the same).
const stepThumbnailed = "thumbnailed"

// publish derives the images once and stores them under their content-hashed keys (a rerun
// after a crash derives the same bytes and keys, so the puts are idempotent).
func (w *Workflow) publish(ctx context.Context, r *run, next *job) error {
	ok, err := w.derive(ctx, r, next)
	if err != nil || !ok {
		return err
	}
	next.Step = StepPublished
	for _, d := range r.derived {
		key := publicKey(next, d)
		if err := w.cfg.Blob.Put(ctx, key, bytes.NewReader(d.Data), int64(len(d.Data)), d.ContentType, PublicCacheControl); err != nil {
			return fmt.Errorf("publish %s: %w", key, err)
		}
	}
	return nil
}

func (w *Workflow) profile(ctx context.Context, next *job) error {
	next.Step = StepProfiled
	if next.question() {
		return nil // the quiz refers to the upload; hosting resolves it
	}
	err := w.cfg.Players.SetAvatar(ctx, next.PlayerID, services.Avatar{Key: next.AvatarKey, ThumbKey: next.ThumbKey})
	if services.ErrorCode(err) == services.ENotFound {
		return services.Permanent(err)
	}
	return err
}

// clean deletes the private original: the outcome is settled and only derived copies remain.
func (w *Workflow) clean(ctx context.Context, next *job) error {
	next.Step = StepCleaned
	if err := w.cfg.Blob.Delete(ctx, next.Key); err != nil {
		return fmt.Errorf("delete original: %w", err)
	}
	return nil
}

// emit records the final status and its avatar.processed event with the emitted step, in one
// transaction (the outbox relays the event). The event carries blob keys; whoever shows it
// resolves them to CDN URLs.
func (w *Workflow) emit(_ context.Context, r *run, next *job) error {
	next.Step = StepEmitted
	var a services.Avatar
	if next.Outcome == DecisionAccepted {
		a = services.Avatar{Key: next.AvatarKey, ThumbKey: next.ThumbKey}
	}
	data, err := json.Marshal(services.AvatarProcessed{UploadID: next.UploadID, PlayerID: next.PlayerID,
		Purpose: next.Purpose, Status: next.Outcome, Reason: next.Reason, ImageKey: a.Key, ThumbKey: a.ThumbKey})
	if err != nil {
		return err
	}
	r.outcome = &services.UploadOutcome{UploadID: next.UploadID, Status: next.Outcome, Reason: next.Reason, Avatar: a,
		Events: []services.OutboxEvent{{Subject: services.SubjectAvatarProcessed, MsgID: "avatar.processed:" + next.UploadID, Data: data}}}
	return nil
}
