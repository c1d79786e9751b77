package store

import "errors"

// Errors returned by every implementation; test them with errors.Is.
var (
	ErrNotFound   = errors.New("not found")
	ErrExists     = errors.New("already exists")
	ErrNotEmpty   = errors.New("not empty")
	ErrNotAllowed = errors.New("not allowed")
	ErrLocked     = errors.New("locked by another session")
	ErrClosed     = errors.New("store closed")
)
