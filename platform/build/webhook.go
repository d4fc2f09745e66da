package build

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strings"
)

// Webhook outcomes.
var (
	ErrBadSignature  = errors.New("webhook signature or token does not verify")
	ErrUnknownSource = errors.New("no app builds from this repository")
)

// Delivery is what a provider's push says.
type Delivery struct {
	Provider string
	ID       string
	Event    string
	Repos    []string // repository URLs named in the payload
	Branch   string
	Commit   string
	Author   string
	Message  string
}

// Result is what a webhook did.
type Result struct {
	Status string   `json:"status"` // built, ignored, duplicate, pong
	Builds []string `json:"builds,omitempty"`
	Reason string   `json:"reason,omitempty"`
}

type pushPayload struct {
	Ref         string `json:"ref"`
	After       string `json:"after"`
	CheckoutSHA string `json:"checkout_sha"`
	UserEmail   string `json:"user_email"`
	Repository  struct {
		CloneURL   string `json:"clone_url"`
		HTMLURL    string `json:"html_url"`
		GitHTTPURL string `json:"git_http_url"`
		Homepage   string `json:"homepage"`
	} `json:"repository"`
	Project struct {
		GitHTTPURL string `json:"git_http_url"`
		WebURL     string `json:"web_url"`
	} `json:"project"`
	HeadCommit *commit  `json:"head_commit"`
	Commits    []commit `json:"commits"`
	Pusher     struct {
		Email string `json:"email"`
	} `json:"pusher"`
}

type commit struct {
	ID      string `json:"id"`
	Message string `json:"message"`
	Author  struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"author"`
}

// parse reads a provider's headers and push payload.
func parse(provider string, h http.Header, body []byte) (*Delivery, error) {
	d := &Delivery{Provider: provider}
	switch provider {
	case "github":
		d.ID, d.Event = h.Get("X-GitHub-Delivery"), h.Get("X-GitHub-Event")
	case "gitea":
		d.ID, d.Event = h.Get("X-Gitea-Delivery"), h.Get("X-Gitea-Event")
	case "gitlab":
		d.ID, d.Event = cmp.Or(h.Get("X-Gitlab-Event-UUID"), h.Get("Idempotency-Key")), h.Get("X-Gitlab-Event")
	default:
		return nil, fmt.Errorf("unknown provider %q (github, gitlab or gitea)", provider)
	}
	var p pushPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("payload is not JSON: %w", err)
	}
	for _, u := range []string{p.Repository.CloneURL, p.Repository.HTMLURL, p.Repository.GitHTTPURL, p.Repository.Homepage, p.Project.GitHTTPURL, p.Project.WebURL} {
		if u != "" {
			d.Repos = append(d.Repos, normalizeRepo(u))
		}
	}
	d.Branch, _ = strings.CutPrefix(p.Ref, "refs/heads/")
	if !strings.HasPrefix(p.Ref, "refs/heads/") {
		d.Branch = ""
	}
	d.Commit = cmp.Or(p.After, p.CheckoutSHA)
	c := p.HeadCommit
	if c == nil && len(p.Commits) > 0 {
		c = &p.Commits[len(p.Commits)-1]
	}
	if c != nil {
		d.Message, d.Author = c.Message, cmp.Or(c.Author.Email, c.Author.Name)
	}
	d.Author = cmp.Or(d.Author, p.Pusher.Email, p.UserEmail)
	return d, nil
}

// verify checks a delivery against one source's secret.
func verify(provider string, h http.Header, body []byte, secret string) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	want := hex.EncodeToString(mac.Sum(nil))
	switch provider {
	case "github":
		got, ok := strings.CutPrefix(h.Get("X-Hub-Signature-256"), "sha256=")
		return ok && hmac.Equal([]byte(got), []byte(want))
	case "gitea":
		return hmac.Equal([]byte(h.Get("X-Gitea-Signature")), []byte(want))
	case "gitlab":
		return subtle.ConstantTimeCompare([]byte(h.Get("X-Gitlab-Token")), []byte(secret)) == 1
	}
	return false
}

func isPush(d *Delivery) bool {
	switch d.Provider {
	case "gitlab":
		return d.Event == "Push Hook"
	default:
		return d.Event == "push"
	}
}

// HandleWebhook verifies a delivery against the sources of the repositories it names, ignores
// replays (same delivery id) and builds the apps whose branch rules match. A delivery that no
// source's secret verifies is refused with ErrBadSignature and creates nothing.
func (s *Service) HandleWebhook(ctx context.Context, provider string, h http.Header, body []byte) (*Result, error) {
	d, err := parse(provider, h, body)
	if err != nil {
		return nil, err
	}
	if d.Event == "ping" {
		return &Result{Status: "pong"}, nil
	}
	if len(d.Repos) == 0 {
		return nil, errors.New("the payload names no repository")
	}
	ph := strings.TrimSuffix(strings.Repeat("?, ", len(d.Repos)), ", ")
	args := make([]any, len(d.Repos))
	for i, r := range d.Repos {
		args[i] = r
	}
	srcs, err := s.sources(ctx, "repo_url IN ("+ph+")", args...)
	if err != nil {
		return nil, err
	}
	var ok []source
	for _, src := range srcs {
		if verify(provider, h, body, src.WebhookSecret) {
			ok = append(ok, src)
		}
	}
	if len(srcs) == 0 {
		return nil, ErrUnknownSource
	}
	if len(ok) == 0 {
		return nil, ErrBadSignature
	}
	if d.ID == "" {
		return nil, errors.New("missing delivery id header: replays cannot be detected")
	}
	res, err := s.db.ExecContext(ctx, "INSERT INTO webhook_deliveries (provider, delivery_id, received_at) VALUES (?, ?, ?) ON CONFLICT (provider, delivery_id) DO NOTHING",
		provider, d.ID, s.now().UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("webhook: record delivery: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &Result{Status: "duplicate", Reason: "delivery " + d.ID + " was already handled"}, nil
	}
	if !isPush(d) {
		return &Result{Status: "ignored", Reason: "event " + d.Event + " is not a push"}, nil
	}
	if d.Branch == "" {
		return &Result{Status: "ignored", Reason: "not a branch push"}, nil
	}
	out := &Result{Status: "ignored", Reason: "branch " + d.Branch + " matches no app's build rules"}
	for _, src := range ok {
		if !matches(src.Branches, d.Branch) {
			continue
		}
		b, err := s.Start(ctx, s.kube.Admin(), Trigger{Tenant: src.Tenant, Env: src.Env, App: src.App, Ref: d.Branch, Commit: d.Commit,
			Author: d.Author, Message: d.Message, By: "webhook:" + provider})
		if err != nil {
			return nil, err
		}
		out.Status, out.Reason = "built", ""
		out.Builds = append(out.Builds, b.ID)
	}
	return out, nil
}

func matches(patterns []string, branch string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(strings.TrimSpace(p), branch); ok {
			return true
		}
	}
	return false
}

// WebhookHandler serves POST /api/v1/webhooks/git/{provider} (provider is the last path segment).
func (s *Service) WebhookHandler(log *slog.Logger, maxBody int64) http.HandlerFunc {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		provider := path.Base(r.URL.Path)
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		reply := func(code int, v any) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_ = json.NewEncoder(w).Encode(v)
		}
		if err != nil {
			reply(http.StatusRequestEntityTooLarge, map[string]string{"error": "payload too large"})
			return
		}
		res, err := s.HandleWebhook(r.Context(), provider, r.Header, body)
		switch {
		case errors.Is(err, ErrBadSignature):
			log.Warn("webhook signature rejected", "provider", provider, "remote", r.RemoteAddr)
			reply(http.StatusUnauthorized, map[string]string{"error": err.Error()})
		case errors.Is(err, ErrUnknownSource):
			reply(http.StatusNotFound, map[string]string{"error": err.Error()})
		case err != nil && strings.HasPrefix(err.Error(), "unknown provider"):
			reply(http.StatusNotFound, map[string]string{"error": err.Error()})
		case err != nil:
			log.Error("webhook", "provider", provider, "err", err)
			reply(http.StatusBadRequest, map[string]string{"error": err.Error()})
		default:
			log.Info("webhook", "provider", provider, "status", res.Status, "builds", res.Builds)
			reply(http.StatusOK, res)
		}
	}
}
