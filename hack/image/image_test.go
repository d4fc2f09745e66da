package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestImageRunsFromItsOwnFilesystem builds the image for this machine's architecture, reads it
// back from the docker-load tarball, unpacks its layers and starts the entrypoint chrooted into
// that filesystem alone, as the image's user: `ingest` must find the docs, and `serve` must
// answer /readyz, which proves nothing the binary needs is missing from the image.
func TestImageRunsFromItsOwnFilesystem(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-builds the binary into an image (minutes): runs in the full tier (make test), not under -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out := t.TempDir()
	// A registry in the test (go-containerregistry's own) receives the pushed index.
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	pushRef := strings.TrimPrefix(reg.URL, "http://") + "/team/k8s-manage:v0.0.0-test"
	built, err := Build(ctx, Options{Push: pushRef, Repo: "k8s-manage", Version: "v0.0.0-test", Commit: "abc1234", Created: time.Unix(1700000000, 0).UTC(),
		Platforms: []string{"linux/" + runtime.GOARCH}, Module: "../..", CACerts: "/etc/ssl/certs/ca-certificates.crt", Out: out,
		LDFlags: "-X k8s-manage/internal/version.version=v0.0.0-test -X k8s-manage/internal/version.commit=abc1234", Log: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	if len(built) != 1 {
		t.Fatalf("built %d images, want 1", len(built))
	}
	t.Logf("image %s: %.1f MB compressed, %.1f MB uncompressed", built[0].Digest, mb(built[0].Compressed), mb(built[0].Uncompressed))

	pulled, err := remote.Index(mustRef(t, pushRef))
	if err != nil {
		t.Fatalf("pull the pushed index: %v", err)
	}
	pm, err := pulled.IndexManifest()
	if err != nil || len(pm.Manifests) != 1 || pm.Manifests[0].Digest.String() != built[0].Digest {
		t.Fatalf("pushed index: %v %+v, want the image %s", err, pm, built[0].Digest)
	}

	img, err := tarball.ImageFromPath(built[0].Tarball, nil)
	if err != nil {
		t.Fatalf("read back %s: %v", built[0].Tarball, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" || cf.Architecture != runtime.GOARCH || cf.OS != "linux" {
		t.Errorf("config: user %q, platform %s/%s", cf.Config.User, cf.OS, cf.Architecture)
	}
	if got := cf.Config.Labels["org.opencontainers.image.revision"]; got != "abc1234" {
		t.Errorf("revision label = %q", got)
	}
	// The multi-platform index in the OCI layout carries the same image and the annotations.
	lp, err := layout.ImageIndexFromPath(filepath.Join(out, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	im, err := lp.IndexManifest()
	if err != nil || len(im.Manifests) != 1 {
		t.Fatalf("oci layout: %v, %d manifests", err, len(im.Manifests))
	}
	inner, err := lp.ImageIndex(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	iim, err := inner.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if iim.Annotations["org.opencontainers.image.version"] != "v0.0.0-test" || len(iim.Manifests) != 1 ||
		iim.Manifests[0].Platform == nil || iim.Manifests[0].Platform.Architecture != runtime.GOARCH {
		t.Errorf("index: annotations %v, manifests %+v", iim.Annotations, iim.Manifests)
	}

	root := filepath.Join(out, "root")
	if err := Unpack(img, root); err != nil {
		t.Fatal(err)
	}
	for _, shell := range []string{"bin/sh", "bin/bash", "bin/busybox", "usr/bin/sh"} {
		if _, err := os.Stat(filepath.Join(root, shell)); err == nil {
			t.Errorf("the image has a shell: /%s", shell)
		}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	// Only the image's own environment, plus the port and a loopback bind for the test.
	env := append(slices.Clone(cf.Config.Env), "K8SM_HTTP_PORT="+port, "K8SM_HTTP_HOST=127.0.0.1", "K8SM_LOG_FORMAT=text")
	run := func(args ...string) *exec.Cmd {
		c := exec.Command(cf.Config.Entrypoint[0], args...)
		c.Env, c.Dir = env, "/"
		c.SysProcAttr = chrootAttr(t, root)
		return c
	}

	ingest := run("ingest")
	b, err := ingest.CombinedOutput()
	if err != nil {
		t.Fatalf("ingest inside the image: %v\n%s", err, b)
	}
	if !strings.Contains(string(b), "chunks from "+docsRoot) {
		t.Errorf("ingest did not read the image's docs:\n%s", b)
	}
	ver, err := run("version", "--json").Output()
	if err != nil {
		t.Fatalf("version: %v", err)
	}
	var v struct{ Version, Commit string }
	if err := json.Unmarshal(ver, &v); err != nil || v.Version != "v0.0.0-test" || v.Commit != "abc1234" {
		t.Errorf("k8s-manage version --json = %s (%v)", ver, err)
	}

	serve := run(cf.Config.Entrypoint[1:]...)
	stderr, err := serve.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatalf("start the entrypoint: %v", err)
	}
	logs := make(chan string, 1)
	go func() {
		var sb strings.Builder
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			sb.WriteString(sc.Text() + "\n")
		}
		logs <- sb.String()
	}()
	defer func() {
		_ = serve.Process.Signal(syscall.SIGTERM)
		_ = serve.Wait()
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			body := make([]byte, 512)
			n, _ := resp.Body.Read(body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Logf("/readyz: %s", body[:n])
				break
			}
		}
		if time.Now().After(deadline) {
			_ = serve.Process.Kill()
			t.Fatalf("/readyz did not answer 200 within 60 s (last error %v); logs:\n%s", err, <-logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The store was created on the image's /data volume, owned by the image's user.
	st, err := os.Stat(filepath.Join(root, "data", "k8s-manage.db"))
	if err != nil {
		t.Fatalf("store not on /data: %v", err)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 && sys.Uid != uid {
		t.Errorf("/data/k8s-manage.db owned by uid %d, want %d", sys.Uid, uid)
	}
}

// chrootAttr confines the process to root as the image's user. As root that is a plain chroot
// with dropped credentials; otherwise a user namespace maps the caller to the image's user.
func chrootAttr(t *testing.T, root string) *syscall.SysProcAttr {
	if os.Geteuid() == 0 {
		return &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	}
	return &syscall.SysProcAttr{Chroot: root, Cloneflags: syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: uid, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: uid, HostID: os.Getgid(), Size: 1}},
		Credential:  &syscall.Credential{Uid: uid, Gid: uid}}
}

// TestDockerfileMatchesImage: deploy/docker/Dockerfile builds through `make image` and copies
// its rootfs; the runtime settings it must restate (user, entrypoint, env, port) must equal the
// builder's, so the two cannot drift.
func TestDockerfileMatchesImage(t *testing.T) {
	b, err := os.ReadFile("../../deploy/docker/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	img, err := assemble(Options{Version: "v", Commit: "c", Created: time.Unix(0, 0)}, "linux", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	var user, entry, expose string
	usesMake := false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "FROM": // only the final stage is the image
			env, user, entry, expose = nil, "", "", ""
		case "ENV":
			env = append(env, f[1])
		case "USER":
			user = f[1]
		case "ENTRYPOINT":
			entry = strings.Join(f[1:], " ")
		case "EXPOSE":
			expose = f[1]
		case "RUN":
			usesMake = usesMake || strings.Contains(line, "make image ")
		}
	}
	if !usesMake {
		t.Error("the Dockerfile does not build through `make image`")
	}
	if user != cf.Config.User {
		t.Errorf("USER %q, image %q", user, cf.Config.User)
	}
	wantEntry, _ := json.Marshal(cf.Config.Entrypoint)
	if strings.ReplaceAll(entry, " ", "") != string(wantEntry) {
		t.Errorf("ENTRYPOINT %s, image %s", entry, wantEntry)
	}
	if !slices.Equal(env, cf.Config.Env) {
		t.Errorf("ENV\n%s\nimage\n%s", strings.Join(env, "\n"), strings.Join(cf.Config.Env, "\n"))
	}
	if _, ok := cf.Config.ExposedPorts[expose]; !ok && expose+"/tcp" != port {
		t.Errorf("EXPOSE %q, image %v", expose, cf.Config.ExposedPorts)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
