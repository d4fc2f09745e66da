package rest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"k8s-manage/internal/httpserver"
	"k8s-manage/internal/redact"
	"k8s-manage/platform/apps"
	"k8s-manage/platform/tenant"
)

// logs: GET /api/v1/apps/{app}/logs?tenant=T&env=E[&pod=P][&container=C][&tail=200][&previous=true][&follow=true][&q=text]
// streams the pod's log lines as Server-Sent Events ("line" events, then "end"), read as the
// person; q keeps only the lines containing it, and every line is redacted.
func (p *API) logs(w http.ResponseWriter, r *http.Request) {
	a, ok := p.inQuery(w, r, tenant.Viewer)
	if !ok {
		return
	}
	tail := int64(200)
	q := r.URL.Query()
	if v := q.Get("tail"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > 10000 {
			httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "tail", Message: "must be between 1 and 10000"})
			return
		}
		tail = n
	}
	pod, stream, err := p.o.Apps.Logs(r.Context(), target(a), apps.LogOptions{App: chi.URLParam(r, "app"), Pod: q.Get("pod"),
		Container: q.Get("container"), TailLines: tail, Previous: q.Get("previous") == "true", Follow: q.Get("follow") == "true"})
	if err != nil {
		httpserver.Fail(w, r, err)
		return
	}
	defer stream.Close()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	filter := q.Get("q")
	send := func(event string, v any) error {
		b, _ := json.Marshal(v)
		_ = rc.SetWriteDeadline(time.Now().Add(time.Minute))
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return err
		}
		return rc.Flush()
	}
	sc := bufio.NewScanner(stream)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if filter != "" && !strings.Contains(strings.ToLower(line), strings.ToLower(filter)) {
			continue
		}
		if err := send("line", map[string]string{"pod": pod, "text": redact.String(line)}); err != nil {
			return
		}
	}
	end := map[string]string{"pod": pod}
	if err := sc.Err(); err != nil && r.Context().Err() == nil {
		end["error"] = redact.String(err.Error())
	}
	_ = send("end", end)
}
