package alertmanager

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"k8s-manage/internal/httpserver"
)

// Auth is how Alertmanager authenticates (its http_config): a bearer token, basic auth, or both
// accepted. At least one must be set.
type Auth struct {
	BearerToken string
	Username    string
	Password    string
}

// HandlerOptions configure the webhook endpoint.
type HandlerOptions struct {
	Queue *Queue
	Auth  Auth
	// Wake is signalled (non-blocking) after new alerts are queued.
	Wake chan<- struct{}
	Log  *slog.Logger
}

// Handler serves POST /api/v1/alerts/alertmanager: authenticate, validate, write every new alert
// to the queue, and only then answer 200. A store failure answers 500 so Alertmanager retries.
func Handler(o HandlerOptions) (http.Handler, error) {
	if o.Queue == nil {
		return nil, errors.New("alertmanager: Queue is required")
	}
	if o.Auth.BearerToken == "" && (o.Auth.Username == "" || o.Auth.Password == "") {
		return nil, errors.New("alertmanager: set alerts.bearer_token or alerts.username and alerts.password: the webhook is not signed")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !o.Auth.ok(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="k8s-manage alerts"`)
			httpserver.WriteError(w, r, http.StatusUnauthorized, errors.New("alertmanager webhook: bad or missing credentials"))
			return
		}
		var wh Webhook
		if err := json.NewDecoder(r.Body).Decode(&wh); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				httpserver.WriteError(w, r, http.StatusRequestEntityTooLarge, fmt.Errorf("body exceeds %d bytes", mbe.Limit))
				return
			}
			httpserver.WriteError(w, r, http.StatusBadRequest, fmt.Errorf("invalid Alertmanager payload: %w", err))
			return
		}
		if err := wh.Validate(); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: fe.Field, Message: fe.Message})
				return
			}
			httpserver.WriteError(w, r, http.StatusBadRequest, err)
			return
		}
		added, dups, err := o.Queue.Enqueue(r.Context(), &wh)
		if err != nil {
			o.Log.Error("alert queue write failed", "group", wh.GroupKey, "err", err)
			httpserver.WriteError(w, r, http.StatusInternalServerError, errors.New("could not queue the alerts; retry"))
			return
		}
		if added > 0 && o.Wake != nil {
			select {
			case o.Wake <- struct{}{}:
			default:
			}
		}
		o.Log.Debug("alerts queued", "group", wh.GroupKey, "added", added, "duplicates", dups)
		httpserver.WriteJSON(w, http.StatusOK, map[string]int{"queued": added, "duplicates": dups})
	}), nil
}

func (a Auth) ok(r *http.Request) bool {
	if a.BearerToken != "" {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok &&
			subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(a.BearerToken)) == 1 {
			return true
		}
	}
	if a.Username != "" && a.Password != "" {
		if u, p, ok := r.BasicAuth(); ok {
			uok := subtle.ConstantTimeCompare([]byte(u), []byte(a.Username)) == 1
			pok := subtle.ConstantTimeCompare([]byte(p), []byte(a.Password)) == 1
			return uok && pok
		}
	}
	return false
}
