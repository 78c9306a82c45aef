package gateway

import (
	"encoding/csv"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/trivium-game/trivium/services"
)

// handleGameReport serves a finished game's report to its host (and admins) as JSON, or as CSV
// with Accept: text/csv or ?format=csv: one row per player per question. Anyone else gets 404,
// so a report's existence is not disclosed.
func handleGameReport(log *slog.Logger, reports services.ReportStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep, err := reports.GameReport(r.Context(), chi.URLParam(r, "code"))
		if err != nil {
			fail(log, w, r, err)
			return
		}
		p := identity(r).Player
		if p.ID != rep.Game.HostID && p.Role != services.RoleAdmin {
			writeProblem(w, http.StatusNotFound, services.ENotFound, "game report not found", nil)
			return
		}
		format := r.URL.Query().Get("format")
		if format == "" && strings.Contains(r.Header.Get("Accept"), "text/csv") {
			format = "csv"
		}
		switch format {
		case "", "json":
			encode(w, http.StatusOK, rep)
		case "csv":
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="trivium-`+rep.Game.Code+`-report.csv"`)
			writeReportCSV(w, rep)
		default:
			writeProblem(w, http.StatusUnprocessableEntity, services.EInvalid, "invalid format",
				map[string]string{"format": "is json or csv"})
		}
	})
}

// reportCSVHeader names the columns of a report's CSV.
var reportCSVHeader = []string{"questionIndex", "kind", "question", "playerId", "displayName", "team",
	"answered", "answer", "correct", "timeMs", "points", "streakBonus", "streak", "accuracy"}

func writeReportCSV(w http.ResponseWriter, rep *services.GameReport) {
	questions := make(map[int]services.ReportQuestion, len(rep.Questions))
	for _, q := range rep.Questions {
		questions[q.Index] = q
	}
	cw := csv.NewWriter(w)
	_ = cw.Write(reportCSVHeader)
	for _, a := range rep.Answers {
		q := questions[a.QuestionIndex]
		acc := ""
		if q.Accuracy != nil {
			acc = strconv.FormatFloat(*q.Accuracy, 'f', 4, 64)
		}
		team := ""
		if a.Team != 0 {
			team = strconv.Itoa(a.Team)
		}
		_ = cw.Write([]string{strconv.Itoa(a.QuestionIndex), q.Kind, q.Text, a.PlayerID, a.DisplayName, team,
			strconv.FormatBool(a.Answered), a.Answer, strconv.FormatBool(a.Correct), strconv.FormatInt(a.TimeMs, 10),
			strconv.Itoa(a.Points), strconv.Itoa(a.StreakBonus), strconv.Itoa(a.Streak), acc})
	}
	cw.Flush()
}

// handleMyGames pages the games the caller hosted, newest first.
func handleMyGames(log *slog.Logger, reports services.ReportStore) http.Handler {
	type page struct {
		Items []services.HostedGame `json:"items"`
		Next  string                `json:"next,omitempty"`
	}
	return reply(log, http.StatusOK, func(r *http.Request) (page, error) {
		limit, err := intParam(r, "limit", 20, 1, 100)
		if err != nil {
			return page{}, err
		}
		items, next, err := reports.HostedGames(r.Context(), identity(r).Player.ID, r.URL.Query().Get("cursor"), limit)
		if items == nil {
			items = []services.HostedGame{}
		}
		return page{Items: items, Next: next}, err
	})
}
