package rest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"k8s-manage/internal/httpserver"
	"k8s-manage/platform/perr"
)

const defaultLimit, maxLimit = 50, 500

// pageParams reads limit (1..500, default 50) and cursor.
func pageParams(w http.ResponseWriter, r *http.Request) (limit int, cursor string, ok bool) {
	limit = defaultLimit
	if v, set := r.URL.Query()["limit"]; set {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > maxLimit {
			httpserver.WriteError(w, r, http.StatusBadRequest, &httpserver.FieldError{Field: "limit", Message: fmt.Sprintf("must be a number between 1 and %d", maxLimit)})
			return 0, "", false
		}
		limit = n
	}
	return limit, r.URL.Query().Get("cursor"), true
}

// page returns the items after the cursor (the opaque key of the previous page's last item)
// in key order, at most limit, and the cursor of the next page ("" on the last).
func page[T any](items []T, key func(T) string, cursor string, limit int) ([]T, string, error) {
	after := ""
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(b) == 0 {
			return nil, "", perr.Invalidf("cursor", "is not a cursor this list returned")
		}
		after = string(b)
	}
	slices.SortFunc(items, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	i := 0
	if after != "" {
		i, _ = slices.BinarySearchFunc(items, after, func(t T, k string) int { return strings.Compare(key(t), k) })
		for i < len(items) && key(items[i]) <= after {
			i++
		}
	}
	items = items[i:]
	if len(items) <= limit {
		return items, "", nil
	}
	return items[:limit], base64.RawURLEncoding.EncodeToString([]byte(key(items[limit-1]))), nil
}
