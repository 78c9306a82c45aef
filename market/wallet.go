package market

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"github.com/trivium-game/trivium/services"
)

// GrantInput is an admin's grant.
type GrantInput struct {
	Amount *int64 `json:"amount"`
	Reason string `json:"reason"`
}

// Valid checks a grant's fields.
func (in *GrantInput) Valid() map[string]string {
	f := map[string]string{}
	if in.Amount == nil || *in.Amount < 1 || *in.Amount > services.MaxGrantAmount {
		f["amount"] = "must be 1–1000000 whole coins"
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if in.Reason == "" || utf8.RuneCountInString(in.Reason) > services.MaxReasonLength {
		f["reason"] = "required: at most 200 characters, kept in the ledger"
	}
	return f
}

// Grant credits a registered player with coins from the grants account, keeping the admin's
// reason in the ledger. With a key (the request's Idempotency-Key) a retried grant moves
// nothing and returns the first one's entry.
func (s *Service) Grant(ctx context.Context, admin *services.Player, playerID string, in GrantInput, key string) (services.WalletEntry, error) {
	if err := services.Invalid(in.Valid()); err != nil {
		return services.WalletEntry{}, err
	}
	if s.cfg.Ledger == nil || s.cfg.Players == nil {
		return services.WalletEntry{}, services.Errorf(services.EUnavailable, "the wallet is not configured")
	}
	if key != "" {
		if err := CheckKey(key); err != nil {
			return services.WalletEntry{}, err
		}
	} else {
		var b [16]byte
		_, _ = rand.Read(b[:])
		key = hex.EncodeToString(b[:])
	}
	p, err := s.cfg.Players.PlayerByID(ctx, playerID)
	if err != nil {
		return services.WalletEntry{}, err
	}
	if p.Guest {
		return services.WalletEntry{}, services.Invalid(map[string]string{"playerId": "guests have no wallet"})
	}
	e, _, err := s.cfg.Ledger.Move(ctx, services.Movement{Key: "grant:" + admin.ID + ":" + key, Kind: services.KindGrant,
		From: services.AccountGrants, To: services.PlayerAccount(p.ID), Amount: *in.Amount, Reason: in.Reason, Ref: "admin:" + admin.ID})
	return e, err
}

// Wallet pages a player's ledger, newest first.
func (s *Service) Wallet(ctx context.Context, p *services.Player, cursor string, limit int) (services.Wallet, error) {
	if s.cfg.Ledger == nil {
		return services.Wallet{}, services.Errorf(services.EUnavailable, "the wallet is not configured")
	}
	return s.cfg.Ledger.Entries(ctx, services.PlayerAccount(p.ID), cursor, limit)
}
