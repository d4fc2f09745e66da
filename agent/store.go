package agent

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudwego/eino/compose"

	"k8s-manage/internal/store"
	"k8s-manage/internal/textutil"
)

// Sealer encrypts checkpoint data at rest (platform/config.Keyring satisfies it). Paused turns hold the
// model's tool arguments, which can include secret values (set_config), so production wires one in.
type Sealer interface {
	Encrypt(plaintext, aad []byte) (keyID string, ciphertext []byte, err error)
	Decrypt(keyID string, ciphertext, aad []byte) ([]byte, error)
}

// sealedPrefix marks sealed checkpoint data: prefix, key id, NUL, AES-GCM ciphertext (AAD: checkpoint id).
const sealedPrefix = "k8sm-sealed-v1\x00"

// checkpoints is eino's CheckPointStore over the service store, so a paused turn survives restarts.
type checkpoints struct {
	db   *store.Store
	seal Sealer // nil stores plaintext
}

var _ compose.CheckPointStore = checkpoints{}

func (c checkpoints) Get(ctx context.Context, id string) ([]byte, bool, error) {
	var data []byte
	err := c.db.QueryRowContext(ctx, "SELECT data FROM checkpoints WHERE id = ?", id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("checkpoint %s: %w", id, err)
	}
	rest, sealed := bytes.CutPrefix(data, []byte(sealedPrefix))
	if !sealed {
		return data, true, nil
	}
	if c.seal == nil {
		return nil, false, fmt.Errorf("checkpoint %s is sealed and no key is configured", id)
	}
	keyID, ct, ok := bytes.Cut(rest, []byte{0})
	if !ok {
		return nil, false, fmt.Errorf("checkpoint %s: malformed sealed data", id)
	}
	plain, err := c.seal.Decrypt(string(keyID), ct, []byte(id))
	if err != nil {
		return nil, false, fmt.Errorf("checkpoint %s: %w", id, err)
	}
	return plain, true, nil
}

func (c checkpoints) Set(ctx context.Context, id string, data []byte) error {
	if c.seal != nil {
		keyID, ct, err := c.seal.Encrypt(data, []byte(id))
		if err != nil {
			return fmt.Errorf("checkpoint %s: seal: %w", id, err)
		}
		data = append(append([]byte(sealedPrefix+keyID), 0), ct...)
	}
	_, err := c.db.ExecContext(ctx, `INSERT INTO checkpoints (id, data, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`, id, data, time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", id, err)
	}
	return nil
}

func (c checkpoints) delete(ctx context.Context, id string) error {
	_, err := c.db.ExecContext(ctx, "DELETE FROM checkpoints WHERE id = ?", id)
	return err
}

// Conversation is a chat thread on one surface.
type Conversation struct {
	ID        string    `json:"id"`
	Surface   string    `json:"surface"`
	Thread    string    `json:"thread"`
	User      string    `json:"user"`
	Tenant    string    `json:"tenant"`
	Env       string    `json:"env"`
	Title     string    `json:"title"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Message is one stored message.
type Message struct {
	Role    string    `json:"role"`
	Content string    `json:"content"`
	At      time.Time `json:"at"`
}

type conversations struct{ db *store.Store }

// ensure returns the conversation of a surface thread, creating it for t.User. A conversation
// belongs to the user who created it: anyone else gets ErrNotFound, and nothing of it is read
// or changed (the conditional upsert leaves another owner's row as it is).
func (c conversations) ensure(ctx context.Context, t Turn) (Conversation, error) {
	now := time.Now().UnixMilli()
	id := t.Surface + ":" + t.Thread
	title := textutil.Truncate(t.Text, 120)
	_, err := c.db.ExecContext(ctx, `INSERT INTO conversations (id, surface, thread, user_email, tenant, env, title, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, tenant = excluded.tenant, env = excluded.env
		WHERE lower(conversations.user_email) = lower(excluded.user_email)`,
		id, t.Surface, t.Thread, t.User, t.Tenant, t.Env, title, now, now)
	if err != nil {
		return Conversation{}, fmt.Errorf("conversation: %w", err)
	}
	return c.owned(ctx, id, t.User)
}

// owned loads a conversation if user owns it; otherwise ErrNotFound (whether it exists or not).
func (c conversations) owned(ctx context.Context, id, user string) (Conversation, error) {
	var cv Conversation
	var at int64
	err := c.db.QueryRowContext(ctx, `SELECT id, surface, thread, user_email, tenant, env, title, updated_at FROM conversations WHERE id = ?`, id).
		Scan(&cv.ID, &cv.Surface, &cv.Thread, &cv.User, &cv.Tenant, &cv.Env, &cv.Title, &at)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !strings.EqualFold(cv.User, user)) {
		return Conversation{}, refuse(ErrNotFound, fmt.Errorf("conversation %s not found", id))
	}
	if err != nil {
		return Conversation{}, fmt.Errorf("conversation %s: %w", id, err)
	}
	cv.UpdatedAt = time.UnixMilli(at)
	return cv, nil
}

func (c conversations) append(ctx context.Context, convID, role, content string) error {
	_, err := c.db.ExecContext(ctx, "INSERT INTO messages (conversation_id, role, content, created_at) VALUES (?, ?, ?, ?)",
		convID, role, content, time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("conversation %s: %w", convID, err)
	}
	return nil
}

// history returns the last n messages, oldest first.
func (c conversations) history(ctx context.Context, convID string, n int) ([]Message, error) {
	rows, err := c.db.QueryContext(ctx, fmt.Sprintf("SELECT role, content, created_at FROM messages WHERE conversation_id = ? ORDER BY id DESC LIMIT %d", n), convID)
	if err != nil {
		return nil, fmt.Errorf("conversation %s: %w", convID, err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		var at int64
		if err := rows.Scan(&m.Role, &m.Content, &at); err != nil {
			return nil, err
		}
		m.At = time.UnixMilli(at)
		out = append(out, m)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, rows.Err()
}

// list returns a user's conversations, newest first.
func (c conversations) list(ctx context.Context, user string) ([]Conversation, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT id, surface, thread, user_email, tenant, env, title, updated_at FROM conversations
		WHERE lower(user_email) = lower(?) ORDER BY updated_at DESC LIMIT 100`, user)
	if err != nil {
		return nil, fmt.Errorf("conversations: %w", err)
	}
	defer rows.Close()
	var out []Conversation
	for rows.Next() {
		var cv Conversation
		var at int64
		if err := rows.Scan(&cv.ID, &cv.Surface, &cv.Thread, &cv.User, &cv.Tenant, &cv.Env, &cv.Title, &at); err != nil {
			return nil, err
		}
		cv.UpdatedAt = time.UnixMilli(at)
		out = append(out, cv)
	}
	return out, rows.Err()
}
