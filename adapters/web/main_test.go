package web_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"k8s-manage/adapters/web/openapi/openapitest"
)

// TestMain validates every /api/v1 exchange of this package's tests against the API contract.
func TestMain(m *testing.M) {
	rec, err := openapitest.New()
	if err != nil {
		panic(err)
	}
	http.DefaultTransport = rec.Transport(http.DefaultTransport)
	code := m.Run()
	if v := rec.Violations(); len(v) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d of %d /api/v1 exchanges broke the API contract:\n%s\n", len(v), rec.Checked(), strings.Join(v, "\n"))
		code = 1
	} else if rec.Checked() == 0 && code == 0 && !testing.Short() {
		fmt.Fprintln(os.Stderr, "FAIL: no /api/v1 exchange was validated: is the contract transport installed?")
		code = 1
	}
	os.Exit(code)
}
