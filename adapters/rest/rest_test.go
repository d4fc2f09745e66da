package rest

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"k8s-manage/platform/apps"
	"k8s-manage/platform/perr"
)

// Pages walk a list in key order without loss or repeats, whatever the input order; a cursor
// that this list did not return is a 400 naming cursor.
func TestPage(t *testing.T) {
	key := func(s string) string { return s }
	for _, tc := range []struct {
		items []string
		limit int
		pages [][]string
	}{
		{nil, 2, [][]string{{}}},
		{[]string{"b", "a"}, 5, [][]string{{"a", "b"}}},
		{[]string{"c", "a", "e", "b", "d"}, 2, [][]string{{"a", "b"}, {"c", "d"}, {"e"}}},
		{[]string{"a", "b", "c", "d"}, 2, [][]string{{"a", "b"}, {"c", "d"}}},
	} {
		cursor := ""
		var got [][]string
		for range 10 {
			items, next, err := page(slices.Clone(tc.items), key, cursor, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, append([]string{}, items...))
			if next == "" {
				break
			}
			cursor = next
		}
		if !slices.EqualFunc(got, tc.pages, slices.Equal) {
			t.Errorf("pages of %v by %d = %v, want %v", tc.items, tc.limit, got, tc.pages)
		}
	}
	// An item deleted between pages does not shift the next page.
	_, next, _ := page([]string{"a", "b", "c", "d"}, key, "", 2)
	items, _, _ := page([]string{"a", "c", "d"}, key, next, 2)
	if !slices.Equal(items, []string{"c", "d"}) {
		t.Errorf("after deleting b, the second page = %v", items)
	}
	for _, bad := range []string{"!!!", "===="} {
		if _, _, err := page([]string{"a"}, key, bad, 2); perr.KindOf(err) != perr.Invalid {
			t.Errorf("cursor %q: err = %v, want Invalid", bad, err)
		}
	}
}

func TestPageParams(t *testing.T) {
	for q, want := range map[string]int{"": defaultLimit, "?limit=1": 1, "?limit=500": 500, "?limit=0": 400, "?limit=501": 400,
		"?limit=": 400, "?limit=ten": 400} {
		w := httptest.NewRecorder()
		limit, _, ok := pageParams(w, httptest.NewRequest("GET", "/apps"+q, nil))
		switch {
		case want == 400 && (ok || w.Code != 400 || !strings.Contains(w.Body.String(), `"field":"limit"`)):
			t.Errorf("%s: ok=%v %d %s, want a 400 naming limit", q, ok, w.Code, w.Body)
		case want != 400 && (!ok || limit != want):
			t.Errorf("%s: limit %d ok=%v, want %d", q, limit, ok, want)
		}
	}
}

// The app spec maps onto the tool's arguments, checked the way the platform checks it.
func TestAppSpecArgs(t *testing.T) {
	three := int32(3)
	for _, tc := range []struct {
		name   string
		spec   appSpec
		create bool
		want   map[string]any
		field  string
	}{
		{name: "create, defaults", spec: appSpec{Image: "nginx:1.27"}, create: true,
			want: map[string]any{"app": "web", "image": "nginx:1.27", "replicas": int32(1)}},
		{name: "create with everything", spec: appSpec{Image: "nginx:1.27", Replicas: &three, Env: map[string]string{"A": "1"},
			Ports: []apps.Port{{Name: "http", Port: 8080}}, Strategy: "blue-green", Host: "web.example.com"}, create: true,
			want: map[string]any{"app": "web", "image": "nginx:1.27", "replicas": int32(3), "env_vars": map[string]string{"A": "1"},
				"ports": []apps.Port{{Name: "http", Port: 8080}}, "strategy": "blue-green", "host": "web.example.com"}},
		{name: "no image", spec: appSpec{}, create: true, field: "image"},
		{name: "a strategy change on a running app", spec: appSpec{Image: "nginx", Strategy: "blue-green"}, field: "strategy"},
		{name: "a host on update", spec: appSpec{Image: "nginx", Ports: []apps.Port{{Name: "http", Port: 80}}, Host: "a.example.com"}, field: "host"},
		{name: "a bad env var name", spec: appSpec{Image: "nginx", Env: map[string]string{"1BAD": "x"}}, create: true, field: "env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.spec.args("web", tc.create)
			if tc.field != "" {
				var pe *perr.Error
				if !errors.As(err, &pe) || !strings.HasPrefix(pe.Field, tc.field) {
					t.Fatalf("err = %v, want Invalid naming %s", err, tc.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("args = %v, want %v", got, tc.want)
			}
			for k := range tc.want {
				if sprint(got[k]) != sprint(tc.want[k]) {
					t.Errorf("%s = %v, want %v", k, got[k], tc.want[k])
				}
			}
		})
	}
}

// A body that is not a JSON object (null, a list) is a 400 naming body, never a panic.
func TestDecodeObject(t *testing.T) {
	for body, code := range map[string]int{"": 0, "{}": 0, `{"replicas":2}`: 0, "null": 400, "[1]": 400, "3": 400, "{": 400} {
		r := httptest.NewRequest(http.MethodPost, "/apps/web/scale", strings.NewReader(body))
		w := httptest.NewRecorder()
		m, ok := decodeObject(w, r)
		if code == 0 && (!ok || m == nil) {
			t.Errorf("%q: refused (%d %s)", body, w.Code, w.Body)
		}
		if code == 400 && (ok || w.Code != 400) {
			t.Errorf("%q: ok=%v code %d, want 400", body, ok, w.Code)
		}
	}
	w := httptest.NewRecorder()
	decodeObject(w, httptest.NewRequest(http.MethodPost, "/x", strings.NewReader("null")))
	if !strings.Contains(w.Body.String(), `"field":"body"`) {
		t.Errorf("null body: %s", w.Body)
	}
}

func sprint(v any) string { b, _ := json.Marshal(v); return string(b) }
