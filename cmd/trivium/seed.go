package main

import (
	"context"
	"encoding/json"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/quizzes"
	"github.com/trivium-game/trivium/services/sqlstore"
)

// seedOwner owns the sample quizzes. It has no password, so nobody can sign in as it.
const seedOwner = "trivium"

// sampleQuizzes are loaded on first start so a new user can play at once.
const sampleQuizzes = `[
 {"title":"World Capitals","description":"Five quick capitals.","mode":"casual","scoring":"speed","public":true,"questions":[
  {"text":"Capital of Australia?","kind":"choice","choices":["Sydney","Canberra","Melbourne","Perth"],"answer":1,"timeLimitSec":15},
  {"text":"Capital of Canada?","kind":"choice","choices":["Toronto","Vancouver","Ottawa","Montreal"],"answer":2,"timeLimitSec":15},
  {"text":"Capital of Japan?","kind":"choice","choices":["Kyoto","Tokyo","Osaka"],"answer":1,"timeLimitSec":15},
  {"text":"Capital of Brazil?","kind":"choice","choices":["Brasília","Rio de Janeiro","São Paulo","Salvador"],"answer":0,"timeLimitSec":15},
  {"text":"Capital of Iceland?","kind":"open","answer":"Reykjavik","alternatives":["Reykjavík"],"timeLimitSec":20}]},
 {"title":"Science Sprint","description":"First right answer wins each question.","mode":"live","scoring":"speed","public":true,"questions":[
  {"text":"Chemical symbol for gold?","kind":"choice","choices":["Ag","Au","Gd","Go"],"answer":1,"timeLimitSec":15},
  {"text":"How many planets in the Solar System?","kind":"choice","choices":["7","8","9","10"],"answer":1,"timeLimitSec":15},
  {"text":"The powerhouse of the cell?","kind":"open","answer":"mitochondria","alternatives":["mitochondrion"],"timeLimitSec":20}]},
 {"title":"History in Rounds","description":"Competitive: two rounds, answer the whole round then see results.","mode":"competitive","scoring":"flat","public":true,"questions":[
  {"text":"Year the Berlin Wall fell?","kind":"choice","choices":["1987","1989","1991"],"answer":1,"group":1,"timeLimitSec":20},
  {"text":"First person on the Moon?","kind":"open","answer":"Neil Armstrong","alternatives":["Armstrong"],"group":1,"timeLimitSec":20},
  {"text":"Ancient wonder in Egypt?","kind":"choice","choices":["Colossus","Great Pyramid","Hanging Gardens"],"answer":1,"group":2,"timeLimitSec":20},
  {"text":"Empire ruled by Julius Caesar?","kind":"choice","choices":["Greek","Roman","Persian"],"answer":1,"group":2,"timeLimitSec":20}]},
 {"title":"Solo Warm-up","description":"Play alone at your own pace.","mode":"single","scoring":"speed","public":true,"questions":[
  {"text":"2 + 2 × 2 = ?","kind":"choice","choices":["6","8"],"answer":0,"timeLimitSec":10},
  {"text":"Largest ocean?","kind":"choice","choices":["Atlantic","Pacific","Indian"],"answer":1,"timeLimitSec":10},
  {"text":"Name the red planet.","kind":"open","answer":"Mars","timeLimitSec":15}]},
 {"title":"Mixed Bag","description":"Every kind of question: true or false, several answers, a number, an order and a poll.","mode":"casual","scoring":"speed","public":true,"questions":[
  {"text":"The Great Wall of China is visible from the Moon with the naked eye.","kind":"truefalse","answer":false,"timeLimitSec":15},
  {"text":"Which of these are primary colours of light?","kind":"multi","choices":["Red","Yellow","Green","Blue"],"answer":[0,2,3],"timeLimitSec":20},
  {"text":"How tall is Mount Everest, in metres?","kind":"number","answer":8849,"tolerance":100,"min":5000,"max":12000,"step":1,"timeLimitSec":20},
  {"text":"Put these in order, smallest first.","kind":"order","choices":["Atom","Cell","Mouse","Elephant"],"timeLimitSec":25},
  {"text":"Which kind of question do you like best?","kind":"poll","choices":["Choice","Number","Order","True or false"],"timeLimitSec":15}]}
]`

// seed loads the sample quizzes once: it does nothing when the seed owner already exists.
func seed(ctx context.Context, db *sqlstore.DB, qs *quizzes.Service) error {
	if _, err := db.PlayerByUsername(ctx, seedOwner); err == nil {
		return nil
	} else if services.ErrorCode(err) != services.ENotFound {
		return err
	}
	owner := &services.Player{Username: seedOwner, DisplayName: "Trivium", Role: services.RolePlayer}
	if err := db.CreatePlayer(ctx, owner); err != nil {
		if services.ErrorCode(err) == services.EConflict {
			return nil // another replica seeded first
		}
		return err
	}
	var qz []services.Quiz
	if err := json.Unmarshal([]byte(sampleQuizzes), &qz); err != nil {
		return err
	}
	for _, q := range qz {
		if _, err := qs.Create(ctx, owner, q); err != nil {
			return err
		}
	}
	return nil
}
