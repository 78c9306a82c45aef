package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trivium-game/trivium/services"
)

var (
	_ services.QuizStore = (*DB)(nil)
	_ services.PlayStore = (*DB)(nil)
	_ services.GameStore = (*DB)(nil)
)

const quizCols = `id, owner_id, title, description, mode, scoring, public, questions, created_at, updated_at`

const quizReadCols = quizCols + `, hidden_reason`

func scanQuiz(row interface{ Scan(...any) error }) (*services.Quiz, error) {
	var q services.Quiz
	var public int
	var questions string
	var created, updated int64
	if err := row.Scan(&q.ID, &q.OwnerID, &q.Title, &q.Description, &q.Mode, &q.Scoring, &public, &questions, &created, &updated, &q.HiddenReason); err != nil {
		return nil, err
	}
	q.Public, q.CreatedAt, q.UpdatedAt = public == 1, fromMS(created), fromMS(updated)
	if err := json.Unmarshal([]byte(questions), &q.Questions); err != nil {
		return nil, fmt.Errorf("quiz %s questions: %w", q.ID, err)
	}
	return &q, nil
}

// CreateQuiz inserts a quiz.
func (d *DB) CreateQuiz(ctx context.Context, q *services.Quiz) error {
	if q.ID == "" {
		q.ID = services.NewID()
	}
	now := d.now().UTC()
	q.CreatedAt, q.UpdatedAt = now, now
	body, err := json.Marshal(q.Questions)
	if err != nil {
		return err
	}
	_, err = d.db.ExecContext(ctx, `INSERT INTO quizzes (`+quizCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
		q.ID, q.OwnerID, q.Title, q.Description, q.Mode, q.Scoring, b2i(q.Public), string(body), ms(now), ms(now))
	if err != nil {
		return fmt.Errorf("create quiz: %w", err)
	}
	return nil
}

// QuizByID loads a quiz.
func (d *DB) QuizByID(ctx context.Context, id string) (*services.Quiz, error) {
	q, err := scanQuiz(d.db.QueryRowContext(ctx, `SELECT `+quizReadCols+` FROM quizzes WHERE id = $1`, id))
	return q, notFound(err, "quiz")
}

// UpdateQuiz replaces a quiz's content.
func (d *DB) UpdateQuiz(ctx context.Context, q *services.Quiz) error {
	body, err := json.Marshal(q.Questions)
	if err != nil {
		return err
	}
	q.UpdatedAt = d.now().UTC()
	return d.updateOne(ctx, "quiz", `UPDATE quizzes SET title=$1, description=$2, mode=$3, scoring=$4, public=$5, questions=$6, updated_at=$7 WHERE id=$8`,
		q.Title, q.Description, q.Mode, q.Scoring, b2i(q.Public), string(body), ms(q.UpdatedAt), q.ID)
}

// DeleteQuiz removes a quiz.
func (d *DB) DeleteQuiz(ctx context.Context, id string) error {
	return d.updateOne(ctx, "quiz", `DELETE FROM quizzes WHERE id = $1`, id)
}

// ListQuizzes pages newest first with a keyset cursor, so inserts between pages never shift them.
func (d *DB) ListQuizzes(ctx context.Context, f services.QuizFilter) ([]services.Quiz, string, error) {
	if f.Limit <= 0 || f.Limit > 100 {
		f.Limit = 20
	}
	where, args := "public = 1 AND hidden_reason = ''", []any{}
	if f.OwnerID != "" {
		where, args = "owner_id = $1", append(args, f.OwnerID)
	}
	if f.Cursor != "" {
		at, id, err := DecodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		n := len(args)
		where += fmt.Sprintf(" AND (created_at < $%d OR (created_at = $%d AND id < $%d))", n+1, n+1, n+2)
		args = append(args, at, id)
	}
	args = append(args, f.Limit+1)
	rows, err := d.db.QueryContext(ctx, `SELECT `+quizReadCols+` FROM quizzes WHERE `+where+
		fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, "", fmt.Errorf("list quizzes: %w", err)
	}
	defer rows.Close()
	var items []services.Quiz
	for rows.Next() {
		q, err := scanQuiz(rows)
		if err != nil {
			return nil, "", err
		}
		items = append(items, *q)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	items, next := page(items, f.Limit, func(q services.Quiz) (time.Time, string) { return q.CreatedAt, q.ID })
	return items, next, nil
}

// page cuts a keyset page read with LIMIT limit+1 to limit items and, when there was one more,
// returns the cursor after the last item kept ("" on the last page).
func page[T any](items []T, limit int, key func(T) (time.Time, string)) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	at, id := key(items[len(items)-1])
	return items, EncodeCursor(ms(at), id)
}

// EncodeCursor is an opaque keyset cursor: the (time, id) of the last item of a page, so rows
// added between pages never shift them.
func EncodeCursor(at int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at, 10) + "|" + id))
}

// DecodeCursor reads an EncodeCursor value; anything else is EInvalid on the field "cursor".
func DecodeCursor(c string) (int64, string, error) {
	bad := services.Invalid(map[string]string{"cursor": "is not a cursor this server issued"})
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", bad
	}
	at, id, ok := strings.Cut(string(b), "|")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil {
		return 0, "", bad
	}
	return n, id, nil
}

// CreatePlay starts a single-player run.
func (d *DB) CreatePlay(ctx context.Context, p *services.Play) error {
	if p.ID == "" {
		p.ID = services.NewID()
	}
	p.CreatedAt = d.now().UTC()
	_, err := d.db.ExecContext(ctx, `INSERT INTO plays (id, quiz_id, player_id, idx, score, asked_at, finished, created_at)
		VALUES ($1,$2,$3,$4,$5,$6,0,$7)`, p.ID, p.QuizID, p.PlayerID, p.Index, p.Score, ms(p.AskedAt), ms(p.CreatedAt))
	if err != nil {
		return fmt.Errorf("create play: %w", err)
	}
	return nil
}

// PlayByID loads a run.
func (d *DB) PlayByID(ctx context.Context, id string) (*services.Play, error) {
	var p services.Play
	var asked, created int64
	var finished int
	err := d.db.QueryRowContext(ctx, `SELECT id, quiz_id, player_id, idx, score, asked_at, finished, created_at FROM plays WHERE id = $1`, id).
		Scan(&p.ID, &p.QuizID, &p.PlayerID, &p.Index, &p.Score, &asked, &finished, &created)
	if err != nil {
		return nil, notFound(err, "play")
	}
	p.AskedAt, p.Finished, p.CreatedAt = fromMS(asked), finished == 1, fromMS(created)
	return &p, nil
}

// AdvancePlay moves a run forward if nobody else did first.
func (d *DB) AdvancePlay(ctx context.Context, p *services.Play, fromIndex int, done *services.ScoreRecorded) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE plays SET idx=$1, score=$2, asked_at=$3, finished=$4 WHERE id=$5 AND idx=$6 AND finished=0`,
			p.Index, p.Score, ms(p.AskedAt), b2i(p.Finished), p.ID, fromIndex)
		if err != nil {
			return fmt.Errorf("advance play: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return services.Errorf(services.EConflict, "question %d was already answered", fromIndex)
		}
		if done == nil {
			return nil
		}
		data, err := json.Marshal(done)
		if err != nil {
			return err
		}
		return addEvent(ctx, tx, services.SubjectScoreRecorded, "score:play:"+p.ID+":"+p.PlayerID, data, d.now())
	})
}

// RecordGame stores a finished game and its events once.
func (d *DB) RecordGame(ctx context.Context, r services.GameFinished) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return d.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO games (id, quiz_id, mode, finished_at, result) VALUES ($1,$2,$3,$4,$5) ON CONFLICT (id) DO NOTHING`,
			r.GameID, r.QuizID, r.Mode, ms(r.FinishedAt), string(data))
		if err != nil {
			return fmt.Errorf("record game: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		now := d.now()
		if err := addEvent(ctx, tx, services.SubjectGameFinished, "game:"+r.GameID, data, now); err != nil {
			return err
		}
		// The scores carry the quiz's visibility and author as they are now, read in this
		// transaction; a quiz deleted mid-game counts as private.
		var public int
		var owner string
		err = tx.QueryRowContext(ctx, `SELECT public, owner_id FROM quizzes WHERE id=$1`, r.QuizID).Scan(&public, &owner)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("record game: quiz %s: %w", r.QuizID, err)
		}
		for _, e := range r.Entries {
			ev, err := json.Marshal(services.ScoreRecorded{Source: services.SourceGame, SourceID: r.GameID, QuizID: r.QuizID,
				QuizPublic: public != 0, QuizOwnerID: owner, PlayerID: e.PlayerID, DisplayName: e.DisplayName, Guest: e.Guest, Score: e.Score, At: r.FinishedAt})
			if err != nil {
				return err
			}
			if err := addEvent(ctx, tx, services.SubjectScoreRecorded, "score:game:"+r.GameID+":"+e.PlayerID, ev, now); err != nil {
				return err
			}
		}
		return nil
	})
}
