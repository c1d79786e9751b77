package app

import (
	"context"
	"strconv"

	"mailhouse/internal/store"
	"mailhouse/internal/web/admin"
)

// queueView shows the outbound queue in the admin console.
type queueView struct{ q store.Queue }

// List returns up to limit entries with their pending recipients.
func (v queueView) List(ctx context.Context, limit int) ([]admin.QueuedMessage, error) {
	entries, err := v.q.QueueList(ctx)
	if err != nil {
		return nil, err
	}
	if limit > 0 && len(entries) > limit {
		entries = entries[:limit]
	}
	out := make([]admin.QueuedMessage, 0, len(entries))
	for _, e := range entries {
		out = append(out, admin.QueuedMessage{
			ID: strconv.FormatInt(int64(e.ID), 10), From: e.From, To: e.Pending(), Size: e.Size,
			Attempts: e.Attempts, Created: e.Created, NextAttempt: e.NextAttempt, LastError: e.LastError,
		})
	}
	return out, nil
}
