// Package quizzes is quiz authoring (validated, owner-only writes) and single-player runs with
// server-side deadlines and scoring.
package quizzes

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/trivium-game/trivium/moderation/textscreen"
	"github.com/trivium-game/trivium/services"
)

// Service holds quiz and single-player logic.
type Service struct {
	Quizzes services.QuizStore
	Plays   services.PlayStore
	Now     func() time.Time
	// Licences lets buyers host quizzes bought on the marketplace; nil: nobody holds any.
	Licences Licences
	// Hosts records who hosted each game, for hosting rewards; nil: not recorded.
	Hosts interface {
		RecordHost(ctx context.Context, gameID, hostID, quizID, licenceID string) error
	}
	// Images resolves question images to their public URLs; nil: a question with an imageId
	// cannot be hosted or played.
	Images QuestionImages
	// Screen checks quiz text before it is stored; nil screens nothing.
	Screen Screen
}

// QuestionImages resolves a question image upload to its public, immutable URL. It returns
// services.Invalid(map[string]string{"questions[i].imageId": …}) — keyed as the caller asks,
// see ImageField — when the upload is not ownerID's or not accepted.
type QuestionImages interface {
	ImageURL(ctx context.Context, ownerID, uploadID string) (string, error)
}

// ImageOwners is optionally implemented by a QuestionImages (services/avatars does): Create and
// Update check with it that every imageId is one of the author's question-image uploads, of any
// status — an image still being moderated may be attached; the quiz is hostable once it is
// accepted. It returns EInvalid when the upload is not ownerID's.
type ImageOwners interface {
	OwnsImage(ownerID, uploadID string) error
}

// checkImages refuses, per question, an imageId that is not one of ownerID's uploads.
func (s *Service) checkImages(ownerID string, q *services.Quiz) error {
	problems := map[string]string{}
	owners, _ := s.Images.(ImageOwners)
	for i, qq := range q.Questions {
		if qq.ImageID == "" {
			continue
		}
		field := fmt.Sprintf("questions[%d].imageId", i)
		if owners == nil {
			continue // checked when hosted
		}
		if err := owners.OwnsImage(ownerID, qq.ImageID); err != nil {
			if services.ErrorCode(err) != services.EInvalid {
				return err
			}
			problems[field] = imageProblem(err)
		}
	}
	return services.Invalid(problems)
}

// imageProblem is what the port said about an image, whatever field it keyed it under.
func imageProblem(err error) string {
	for _, msg := range services.ErrorFields(err) {
		return msg
	}
	return services.ErrorMessage(err)
}

// resolveImage sets the ImageURL of question i of q from its ImageID.
func (s *Service) resolveImage(ctx context.Context, q *services.Quiz, i int) error {
	qq := &q.Questions[i]
	qq.ImageURL = ""
	if qq.ImageID == "" {
		return nil
	}
	field := fmt.Sprintf("questions[%d].imageId", i)
	if s.Images == nil {
		return services.Invalid(map[string]string{field: "question images are not available on this server"})
	}
	url, err := s.Images.ImageURL(ctx, q.OwnerID, qq.ImageID)
	if err != nil {
		if services.ErrorCode(err) == services.EInvalid || services.ErrorCode(err) == services.ENotFound {
			// Whatever key the port used, the problem is this question's image.
			return services.Invalid(map[string]string{field: imageProblem(err)})
		}
		return err
	}
	qq.ImageURL = url
	return nil
}

// presented is question i of q as the player of play sees it: an order question's items in
// the play's own shuffled order.
func presented(q *services.Quiz, playID string, i int) services.Question {
	qq := q.Questions[i]
	if qq.Kind == services.KindOrder {
		qq = qq.Presented(services.OrderPermutation([]byte(playID), fmt.Sprintf("order/%d", i), len(qq.Choices)))
	}
	return qq
}

// Screen is the text screen as quiz authoring uses it (moderation.TextGuard implements it).
type Screen interface {
	// ScreenQuiz returns EInvalid naming each refused field, or the fields to flag.
	ScreenQuiz(q *services.Quiz) ([]textscreen.FieldHit, error)
	// FlagQuiz opens a moderation case on a stored quiz with flagged fields.
	FlagQuiz(ctx context.Context, q *services.Quiz, hits []textscreen.FieldHit) error
}

// screen refuses or returns what to flag; flag opens the case once the quiz is stored (the
// quiz stays: a flag only asks a moderator to look).
func (s *Service) screen(q *services.Quiz) ([]textscreen.FieldHit, error) {
	if s.Screen == nil {
		return nil, nil
	}
	return s.Screen.ScreenQuiz(q)
}

func (s *Service) flag(ctx context.Context, q *services.Quiz, hits []textscreen.FieldHit) error {
	if len(hits) == 0 {
		return nil
	}
	return s.Screen.FlagQuiz(ctx, q, hits)
}

// Licences is the part of the marketplace's store that hosting needs.
type Licences interface {
	UseLicence(ctx context.Context, playerID, quizID string) (licenceID string, err error)
	ReturnLicencePlay(ctx context.Context, licenceID string) error
	HasLicence(ctx context.Context, playerID, quizID string) (bool, error)
}

// Create validates and stores a new quiz owned by owner.
func (s *Service) Create(ctx context.Context, owner *services.Player, q services.Quiz) (*services.Quiz, error) {
	if owner.Guest {
		return nil, services.Errorf(services.EForbidden, "guests cannot create quizzes")
	}
	q.Normalize()
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if err := s.checkImages(owner.ID, &q); err != nil {
		return nil, err
	}
	hits, err := s.screen(&q)
	if err != nil {
		return nil, err
	}
	q.ID, q.OwnerID = "", owner.ID
	clearImageURLs(&q)
	if err := s.Quizzes.CreateQuiz(ctx, &q); err != nil {
		return nil, err
	}
	return &q, s.flag(ctx, &q, hits)
}

// Get returns a quiz if the viewer may see it; ownerView says whether answers may be shown. A
// buyer holding a licence sees a private quiz, never with its answers (ownerView is false).
func (s *Service) Get(ctx context.Context, viewer *services.Player, id string) (*services.Quiz, bool, error) {
	q, owner, err := s.get(ctx, viewer, id)
	if err == nil {
		return q, owner, nil
	}
	if viewer == nil || s.Licences == nil || services.ErrorCode(err) != services.ENotFound || q == nil || q.HiddenReason != "" {
		return nil, false, err
	}
	licensed, lerr := s.Licences.HasLicence(ctx, viewer.ID, q.ID)
	if lerr != nil {
		return nil, false, lerr
	}
	if !licensed {
		return nil, false, err
	}
	return q, false, nil
}

// get applies the plain rule: public quizzes and the viewer's own. On ENotFound for a private
// quiz it still returns the quiz, for Get's licence check.
func (s *Service) get(ctx context.Context, viewer *services.Player, id string) (*services.Quiz, bool, error) {
	q, err := s.Quizzes.QuizByID(ctx, id)
	if err != nil {
		return nil, false, err
	}
	owner := viewer != nil && viewer.ID == q.OwnerID
	if (!q.Public || q.HiddenReason != "") && !owner {
		return q, false, services.Errorf(services.ENotFound, "quiz not found")
	}
	return q, owner, nil
}

// Playable returns a quiz the player may play alone: public ones and their own. Bought quizzes
// are not: a single-player run reveals every answer.
func (s *Service) Playable(ctx context.Context, p *services.Player, id string) (*services.Quiz, error) {
	q, _, err := s.get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if q.HiddenReason != "" {
		return nil, hidden(q)
	}
	return q, nil
}

func clearImageURLs(q *services.Quiz) {
	for i := range q.Questions {
		q.Questions[i].ImageURL = "" // resolved when hosted or played, never stored
	}
}

// hidden is the refusal to play or host a quiz a moderator hid, for its owner too.
func hidden(q *services.Quiz) error {
	return services.Errorf(services.EForbidden, "a moderator hid this quiz (%s): it cannot be played or hosted", q.HiddenReason)
}

// Host returns a quiz p may host as a game: public ones, their own, and private ones they bought
// a licence for, which spends one play of it (licenceID says which; ELicenceExhausted when none
// is left). Give the play back with Unhost if the game cannot be created. Every question image
// is resolved to its URL (422 questions[i].imageId when one cannot be).
func (s *Service) Host(ctx context.Context, p *services.Player, id string) (q *services.Quiz, licenceID string, err error) {
	q, licenceID, err = s.host(ctx, p, id)
	if err != nil {
		return nil, "", err
	}
	for i := range q.Questions {
		if err := s.resolveImage(ctx, q, i); err != nil {
			if uerr := s.Unhost(ctx, licenceID); uerr != nil {
				return nil, "", errors.Join(err, uerr)
			}
			return nil, "", err
		}
	}
	return q, licenceID, nil
}

func (s *Service) host(ctx context.Context, p *services.Player, id string) (q *services.Quiz, licenceID string, err error) {
	q, _, err = s.get(ctx, p, id)
	if err == nil && q.HiddenReason != "" {
		return nil, "", hidden(q)
	}
	if err == nil {
		return q, "", nil
	}
	if services.ErrorCode(err) != services.ENotFound || q == nil || s.Licences == nil {
		return nil, "", err
	}
	if q.HiddenReason != "" {
		return nil, "", hidden(q)
	}
	licenceID, err = s.Licences.UseLicence(ctx, p.ID, q.ID)
	if err != nil {
		return nil, "", err
	}
	return q, licenceID, nil
}

// Hosted records that p hosts game gameID of quiz quizID.
func (s *Service) Hosted(ctx context.Context, gameID string, p *services.Player, quizID, licenceID string) error {
	if s.Hosts == nil {
		return nil
	}
	return s.Hosts.RecordHost(ctx, gameID, p.ID, quizID, licenceID)
}

// Unhost gives back the licence play Host spent for a game that was not created.
func (s *Service) Unhost(ctx context.Context, licenceID string) error {
	if licenceID == "" || s.Licences == nil {
		return nil
	}
	return s.Licences.ReturnLicencePlay(ctx, licenceID)
}

func (s *Service) owned(ctx context.Context, p *services.Player, id string) (*services.Quiz, error) {
	q, owner, err := s.get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if !owner {
		return nil, services.Errorf(services.EForbidden, "only the owner may change this quiz")
	}
	return q, nil
}

// Update replaces a quiz's content (owner only).
func (s *Service) Update(ctx context.Context, p *services.Player, id string, q services.Quiz) (*services.Quiz, error) {
	old, err := s.owned(ctx, p, id)
	if err != nil {
		return nil, err
	}
	q.Normalize()
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if err := s.checkImages(old.OwnerID, &q); err != nil {
		return nil, err
	}
	hits, err := s.screen(&q)
	if err != nil {
		return nil, err
	}
	q.ID, q.OwnerID, q.CreatedAt, q.HiddenReason = old.ID, old.OwnerID, old.CreatedAt, old.HiddenReason
	clearImageURLs(&q)
	if err := s.Quizzes.UpdateQuiz(ctx, &q); err != nil {
		return nil, err
	}
	return &q, s.flag(ctx, &q, hits)
}

// Delete removes a quiz (owner only).
func (s *Service) Delete(ctx context.Context, p *services.Player, id string) error {
	if _, err := s.owned(ctx, p, id); err != nil {
		return err
	}
	return s.Quizzes.DeleteQuiz(ctx, id)
}

// List pages public quizzes, or the caller's own.
func (s *Service) List(ctx context.Context, f services.QuizFilter) ([]services.Quiz, string, error) {
	return s.Quizzes.ListQuizzes(ctx, f)
}

// StartPlay begins a single-player run and asks the first question.
func (s *Service) StartPlay(ctx context.Context, p *services.Player, quizID string) (*services.Play, services.PublicQuestion, error) {
	q, err := s.Playable(ctx, p, quizID)
	if err != nil {
		return nil, services.PublicQuestion{}, err
	}
	if err := s.resolveImage(ctx, q, 0); err != nil {
		return nil, services.PublicQuestion{}, err
	}
	now := s.Now()
	play := &services.Play{QuizID: q.ID, PlayerID: p.ID, AskedAt: now}
	if err := s.Plays.CreatePlay(ctx, play); err != nil {
		return nil, services.PublicQuestion{}, err
	}
	return play, publicAt(q, play.ID, 0, now), nil
}

func publicAt(q *services.Quiz, playID string, i int, askedAt time.Time) services.PublicQuestion {
	qq := presented(q, playID, i)
	return qq.Public(i, askedAt.Add(qq.TimeLimit()), qq.TimeLimit())
}

// AnswerResult is the outcome of one single-player answer.
type AnswerResult struct {
	Correct       bool                     `json:"correct"`
	CorrectAnswer services.Answer          `json:"correctAnswer"`
	Points        int                      `json:"points"`
	Score         int                      `json:"score"`
	TooLate       bool                     `json:"tooLate"`
	Next          *services.PublicQuestion `json:"next"`
	Finished      bool                     `json:"finished"`
}

// Answer scores the answer to question index of a run; a repeat is EConflict, an answer after
// the deadline scores 0 and says so.
func (s *Service) Answer(ctx context.Context, p *services.Player, playID string, index int, a services.Answer) (*AnswerResult, error) {
	play, err := s.Plays.PlayByID(ctx, playID)
	if err != nil {
		return nil, err
	}
	if play.PlayerID != p.ID {
		return nil, services.Errorf(services.ENotFound, "play not found")
	}
	if play.Finished || index < play.Index {
		return nil, services.Errorf(services.EConflict, "question %d was already answered", index)
	}
	if index > play.Index {
		return nil, services.Invalid(map[string]string{"index": "that question has not been asked yet"})
	}
	q, err := s.Quizzes.QuizByID(ctx, play.QuizID)
	if err != nil {
		return nil, err
	}
	if index >= len(q.Questions) {
		return nil, services.Errorf(services.EConflict, "the quiz changed; start a new play")
	}
	qq := presented(q, play.ID, index)
	if msg := qq.CheckAnswer(a); msg != "" {
		return nil, services.Invalid(map[string]string{"answer": msg})
	}
	now := s.Now()
	elapsed := now.Sub(play.AskedAt)
	res := &AnswerResult{CorrectAnswer: qq.Answer, TooLate: elapsed > qq.TimeLimit()}
	res.Correct = !res.TooLate && qq.Correct(a)
	if res.Correct {
		res.Points = services.Points(q.Scoring, elapsed, qq.TimeLimit())
	}
	from := play.Index
	play.Score += res.Points
	play.Index++
	play.AskedAt = now
	var done *services.ScoreRecorded
	if play.Index >= len(q.Questions) {
		play.Finished = true
		done = &services.ScoreRecorded{Source: services.SourcePlay, SourceID: play.ID, QuizID: q.ID,
			QuizPublic: q.Public, QuizOwnerID: q.OwnerID, PlayerID: p.ID,
			DisplayName: p.DisplayName, Guest: p.Guest, Score: play.Score, At: now.UTC()}
	}
	if !play.Finished {
		// Before the answer is stored: a next question whose image cannot be shown fails the
		// answer (422) rather than losing the run.
		if err := s.resolveImage(ctx, q, play.Index); err != nil {
			return nil, err
		}
	}
	if err := s.Plays.AdvancePlay(ctx, play, from, done); err != nil {
		return nil, err
	}
	res.Score, res.Finished = play.Score, play.Finished
	if !play.Finished {
		nq := publicAt(q, play.ID, play.Index, now)
		res.Next = &nq
	}
	return res, nil
}
