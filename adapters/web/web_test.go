package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/go-chi/chi/v5"

	"k8s-manage/adapters/chattest"
	"k8s-manage/adapters/web"
	"k8s-manage/agent/identity"
)

type dir struct{ w *chattest.World }

func (d dir) Memberships(ctx context.Context, user string) ([]web.Membership, error) {
	roles, err := d.w.Tenants.TenantsOf(ctx, user)
	if err != nil {
		return nil, err
	}
	var out []web.Membership
	for t, r := range roles {
		out = append(out, web.Membership{Tenant: t, Role: string(r), Envs: []string{"dev"}})
	}
	return out, nil
}

const password = "correct horse battery staple"

func server(t *testing.T, w *chattest.World, assets fstest.MapFS, origins ...string) *httptest.Server {
	ctx := context.Background()
	pw := identity.NewPasswords(w.Store)
	for _, u := range []string{w.Dev, w.Ops, w.Admin, w.Viewer} {
		if err := pw.Set(ctx, u, password); err != nil {
			t.Fatal(err)
		}
	}
	opts := web.Options{Agent: w.Agent, Tokens: identity.NewTokens(w.Store), Passwords: pw, Sessions: identity.NewSessions(w.Store, time.Hour),
		Directory: dir{w}, AllowedOrigins: origins}
	if assets != nil {
		opts.Assets = assets
	}
	s := web.New(opts)
	root := chi.NewRouter()
	api := chi.NewRouter()
	s.Mount(root, api)
	root.Mount("/api/v1", api)
	srv := httptest.NewServer(root)
	t.Cleanup(srv.Close)
	return srv
}

type browser struct {
	t    *testing.T
	c    *http.Client
	base string
	csrf string
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar}, base: base}
}

func (b *browser) do(method, path, body string, hdr ...string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, string(out)
}

func (b *browser) login(email string) {
	b.t.Helper()
	resp, body := b.do("POST", "/api/v1/login", `{"email":"`+email+`","password":"`+password+`"}`)
	if resp.StatusCode != 200 {
		b.t.Fatalf("login %s: %d %s", email, resp.StatusCode, body)
	}
	var v struct{ CSRF string }
	_ = json.Unmarshal([]byte(body), &v)
	b.csrf = v.CSRF
}

// Password login with an HttpOnly SameSite=Strict session cookie, CSRF on every change, the
// session endpoint with tenants, logout, lockout after repeated failures, and bearer sessions
// for the widget.
func TestLoginSessionsAndCSRF(t *testing.T) {
	w := chattest.New(t)
	srv := server(t, w, nil)
	b := newBrowser(t, srv.URL)

	for _, c := range []struct{ body, want string }{
		{`{"password":"x"}`, "email"},
		{`{"email":"a@b.c"}`, "password"},
		{`{"email":"a@b.c","password":"x","mode":"magic"}`, "mode"},
	} {
		if resp, body := b.do("POST", "/api/v1/login", c.body); resp.StatusCode != 400 || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s", c.body, resp.StatusCode, body)
		}
	}
	if resp, body := b.do("GET", "/api/v1/session", ""); resp.StatusCode != 401 {
		t.Fatalf("anonymous session: %d %s", resp.StatusCode, body)
	}
	resp, body := b.do("POST", "/api/v1/login", `{"email":"`+w.Dev+`","password":"`+password+`"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "k8sm_session" {
			ck = c
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure {
		t.Fatalf("session cookie (plain HTTP on loopback: not Secure): %+v", ck)
	}
	if strings.Contains(body, ck.Value) {
		t.Fatal("the cookie session secret is in the body")
	}
	var lv struct{ CSRF string }
	_ = json.Unmarshal([]byte(body), &lv)
	b.csrf = lv.CSRF
	resp, body = b.do("GET", "/api/v1/session", "")
	if resp.StatusCode != 200 || !strings.Contains(body, w.Tenant) || !strings.Contains(body, `"role":"developer"`) || !strings.Contains(body, b.csrf) {
		t.Fatalf("session: %d %s", resp.StatusCode, body)
	}
	chat := `{"message":"how do I set up a canary release?","tenant":"` + w.Tenant + `"}`
	if resp, body := b.do("POST", "/api/v1/chat", chat); resp.StatusCode != 403 || !strings.Contains(body, "X-CSRF-Token") {
		t.Fatalf("chat without CSRF: %d %s", resp.StatusCode, body)
	}
	if resp, _ := b.do("POST", "/api/v1/chat", chat, "X-CSRF-Token", "forged"); resp.StatusCode != 403 {
		t.Fatalf("chat with a wrong CSRF token: %d", resp.StatusCode)
	}
	if resp, body := b.do("POST", "/api/v1/chat", chat, "X-CSRF-Token", b.csrf); resp.StatusCode != 200 || !strings.Contains(body, "From the docs") {
		t.Fatalf("chat with CSRF: %d %s", resp.StatusCode, body)
	}
	if resp, _ := b.do("POST", "/api/v1/logout", "", "X-CSRF-Token", b.csrf); resp.StatusCode != 204 {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	// The old cookie no longer works even if replayed.
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/session", nil)
	req.AddCookie(ck)
	if r2, _ := http.DefaultClient.Do(req); r2.StatusCode != 401 {
		t.Fatalf("replayed cookie after logout: %d", r2.StatusCode)
	}

	// Behind TLS termination the cookie is Secure.
	resp, _ = b.do("POST", "/api/v1/login", `{"email":"`+w.Ops+`","password":"`+password+`"}`, "X-Forwarded-Proto", "https")
	for _, c := range resp.Cookies() {
		if c.Name == "k8sm_session" && !c.Secure {
			t.Fatal("cookie not Secure behind https")
		}
	}

	// Five wrong passwords lock the account for a while, even for the right one.
	for range 5 {
		if resp, _ := b.do("POST", "/api/v1/login", `{"email":"`+w.Viewer+`","password":"wrong password"}`); resp.StatusCode != 401 {
			t.Fatalf("wrong password: %d", resp.StatusCode)
		}
	}
	if resp, _ := b.do("POST", "/api/v1/login", `{"email":"`+w.Viewer+`","password":"`+password+`"}`); resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after 5 failures: %d", resp.StatusCode)
	}

	// Widget mode: a bearer session token, no cookie; CSRF does not apply to bearer requests.
	anon := newBrowser(t, srv.URL)
	resp, body = anon.do("POST", "/api/v1/login", `{"email":"`+w.Dev+`","password":"`+password+`","mode":"token"}`)
	var tv struct{ Token string }
	_ = json.Unmarshal([]byte(body), &tv)
	if resp.StatusCode != 200 || !strings.HasPrefix(tv.Token, identity.SessionPrefix) || len(resp.Cookies()) != 0 {
		t.Fatalf("token login: %d %s %v", resp.StatusCode, body, resp.Cookies())
	}
	if resp, body := anon.do("GET", "/api/v1/approvals", "", "Authorization", "Bearer "+tv.Token); resp.StatusCode != 200 {
		t.Fatalf("bearer session: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(w.Log.String(), password) {
		t.Fatal("a password was logged")
	}
}

// CORS headers only for configured origins; other origins' preflights are refused.
func TestCORSAllowedOriginsOnly(t *testing.T) {
	w := chattest.New(t)
	srv := server(t, w, nil, "https://wiki.example.com")
	b := newBrowser(t, srv.URL)
	resp, _ := b.do("OPTIONS", "/api/v1/chat", "", "Origin", "https://wiki.example.com", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization,content-type")
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://wiki.example.com" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") || resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("allowed preflight: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = b.do("OPTIONS", "/api/v1/chat", "", "Origin", "https://evil.example.net", "Access-Control-Request-Method", "POST")
	if resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("other origin's preflight: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = b.do("POST", "/api/v1/login", `{"email":"x@y.z","password":"p"}`, "Origin", "https://evil.example.net")
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("a response to another origin carries CORS headers")
	}
}

// The audit log is for the tenant's admins only.
func TestAuditLogForAdmins(t *testing.T) {
	w := chattest.New(t)
	srv := server(t, w, nil)
	dev, adm := newBrowser(t, srv.URL), newBrowser(t, srv.URL)
	dev.login(w.Dev)
	adm.login(w.Admin)
	dev.do("POST", "/api/v1/chat", `{"message":"list apps","tenant":"`+w.Tenant+`"}`, "X-CSRF-Token", dev.csrf)
	if resp, body := dev.do("GET", "/api/v1/audit?tenant="+w.Tenant, ""); resp.StatusCode != 403 || !strings.Contains(body, "admin") {
		t.Fatalf("developer reading the audit log: %d %s", resp.StatusCode, body)
	}
	if resp, body := adm.do("GET", "/api/v1/audit", ""); resp.StatusCode != 400 || !strings.Contains(body, "tenant") {
		t.Fatalf("no tenant: %d %s", resp.StatusCode, body)
	}
	resp, body := adm.do("GET", "/api/v1/audit?tenant="+w.Tenant, "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"tool":"list_apps"`) || !strings.Contains(body, w.Dev) {
		t.Fatalf("admin: %d %s", resp.StatusCode, body)
	}
}

// The console's assets: index.html at the app's routes with a strict CSP, hashed assets cached for
// a year, the widget script; without a build, the minimal page.
func TestConsoleAssets(t *testing.T) {
	w := chattest.New(t)
	assets := fstest.MapFS{
		"index.html":          {Data: []byte(`<!doctype html><div id="app"></div><script type="module" src="/assets/index-abc.js"></script>`)},
		"assets/index-abc.js": {Data: []byte(`console.log("console")`)},
		"widget.js":           {Data: []byte(`(function(){})()`)},
	}
	srv := server(t, w, assets)
	b := newBrowser(t, srv.URL)
	for _, p := range []string{"/", "/approvals", "/chat"} {
		resp, body := b.do("GET", p, "")
		if resp.StatusCode != 200 || !strings.Contains(body, `id="app"`) || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Fatalf("%s: %d %q %v", p, resp.StatusCode, body, resp.Header)
		}
	}
	resp, _ := b.do("GET", "/assets/index-abc.js", "")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("asset: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body := b.do("GET", "/widget.js", "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") || body != `(function(){})()` {
		t.Fatalf("widget: %d %v", resp.StatusCode, resp.Header)
	}
	bare := server(t, w, fstest.MapFS{"only.txt": {}})
	resp, body = newBrowser(t, bare.URL).do("GET", "/", "")
	if resp.StatusCode != 200 || !strings.Contains(body, "k8s-manage chat") {
		t.Fatalf("fallback page: %d", resp.StatusCode)
	}
}
