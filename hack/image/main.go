// Command image builds the k8s-manage OCI image without a container daemon, the way ko does:
// it cross-compiles the static binary (which embeds the console) for each platform, lays it out
// with the docs it ingests, CA certificates and a non-root user in two layers on an empty base,
// and writes
//
//	<out>/k8s-manage-<version>-<os>-<arch>.tar   one per platform, for `docker load` / `podman load`
//	<out>/oci/                                   an OCI layout holding the multi-platform index
//	<out>/rootfs-<os>-<arch>/                    with --rootfs: the flattened filesystem (deploy/docker/Dockerfile copies it)
//
// and, with --push REF, pushes the index to a registry (credentials from the Docker config).
// `make image` runs it; see docs/deploy.md.
package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's fixed shape; the Helm chart and deploy/docker/Dockerfile rely on it.
const (
	binPath  = "/usr/local/bin/k8s-manage"
	docsRoot = "/usr/share/k8s-manage" // holds docs/ (knowledge.docs_root)
	dataDir  = "/data"                 // the store and generated keys (a volume in the chart)
	uid      = 65532                   // "nonroot", as in distroless
	port     = "8080/tcp"
)

// Options says what to build.
type Options struct {
	Repo      string // image name in the tarballs, e.g. k8s-manage
	Version   string // tag and org.opencontainers.image.version
	Commit    string // org.opencontainers.image.revision
	Created   time.Time
	Platforms []string // os/arch
	LDFlags   string   // the Makefile's -X flags (version and commit)
	Module    string   // the repository root (holds cmd/k8s-manage and docs/)
	CACerts   string   // PEM bundle copied to /etc/ssl/certs/ca-certificates.crt
	Out       string
	Rootfs    bool
	Push      string // registry reference; empty: do not push
	Log       io.Writer
}

// Built is one platform's image.
type Built struct {
	Platform     string
	Tarball      string
	Digest       string
	Compressed   int64 // sum of the gzip layers
	Uncompressed int64
}

func main() {
	var o Options
	var platforms, created string
	flag.StringVar(&o.Repo, "repo", "k8s-manage", "image name written into the tarballs")
	flag.StringVar(&o.Version, "version", "dev", "version (tag and OCI annotation)")
	flag.StringVar(&o.Commit, "commit", "unknown", "commit (OCI annotation)")
	flag.StringVar(&created, "created", "", "creation time, RFC 3339 or Unix seconds (default: the commit's time, for reproducible images)")
	flag.StringVar(&platforms, "platforms", "linux/amd64,linux/arm64", "comma-separated os/arch list")
	flag.StringVar(&o.LDFlags, "ldflags", "", "extra -ldflags for go build (the version stamps)")
	flag.StringVar(&o.Module, "module", ".", "repository root")
	flag.StringVar(&o.CACerts, "ca-certs", "/etc/ssl/certs/ca-certificates.crt", "CA bundle to include")
	flag.StringVar(&o.Out, "out", "bin/image", "output folder")
	flag.BoolVar(&o.Rootfs, "rootfs", false, "also write each platform's flattened filesystem (for deploy/docker/Dockerfile)")
	flag.StringVar(&o.Push, "push", "", "push the multi-platform index to this reference, e.g. registry.example.com/k8s-manage:v1")
	flag.Parse()
	o.Platforms = strings.Split(platforms, ",")
	o.Log = os.Stderr
	var err error
	if o.Created, err = parseCreated(created, o.Module); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(2)
	}
	built, err := Build(context.Background(), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "platform\tdigest\tcompressed\tuncompressed\ttarball")
	for _, b := range built {
		fmt.Fprintf(tw, "%s\t%s\t%.1f MB\t%.1f MB\t%s\n", b.Platform, b.Digest[:19], mb(b.Compressed), mb(b.Uncompressed), b.Tarball)
	}
	tw.Flush()
}

func mb(n int64) float64 { return float64(n) / 1e6 }

func parseCreated(s, module string) (time.Time, error) {
	if s == "" {
		out, err := exec.Command("git", "-C", module, "log", "-1", "--format=%ct").Output()
		if err != nil {
			return time.Unix(0, 0).UTC(), nil
		}
		s = strings.TrimSpace(string(out))
	}
	var secs int64
	if _, err := fmt.Sscanf(s, "%d", &secs); err == nil && !strings.Contains(s, "-") {
		return time.Unix(secs, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--created %q: want RFC 3339 or Unix seconds", s)
	}
	return t.UTC(), nil
}

// Build compiles and assembles every platform's image, writes them under o.Out and pushes the
// index when o.Push is set.
func Build(ctx context.Context, o Options) ([]Built, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if len(o.Platforms) == 0 {
		return nil, errors.New("platforms: none given")
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	base, err := baseLayer(o)
	if err != nil {
		return nil, err
	}
	docs, err := docsEntries(filepath.Join(o.Module, "docs"), o.Created)
	if err != nil {
		return nil, err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var out []Built
	for _, p := range o.Platforms {
		goos, arch, ok := strings.Cut(strings.TrimSpace(p), "/")
		if !ok || goos != "linux" || arch == "" {
			return nil, fmt.Errorf("platforms: %q is not linux/<arch>", p)
		}
		bin := filepath.Join(o.Out, "build", goos+"-"+arch, "k8s-manage")
		fmt.Fprintf(o.Log, "[image] building %s for %s/%s ...\n", binPath, goos, arch)
		if err := goBuild(ctx, o, goos, arch, bin); err != nil {
			return nil, err
		}
		app, err := appLayer(bin, docs, o.Created)
		if err != nil {
			return nil, err
		}
		img, err := assemble(o, goos, arch, base, app)
		if err != nil {
			return nil, err
		}
		b := Built{Platform: goos + "/" + arch,
			Tarball: filepath.Join(o.Out, fmt.Sprintf("%s-%s-%s-%s.tar", path.Base(o.Repo), o.Version, goos, arch))}
		tag, err := name.NewTag(o.Repo+":"+sanitizeTag(o.Version), name.WeakValidation)
		if err != nil {
			return nil, fmt.Errorf("repo/version: %w", err)
		}
		if err := tarball.WriteToFile(b.Tarball, tag, img); err != nil {
			return nil, fmt.Errorf("write %s: %w", b.Tarball, err)
		}
		if err := sizes(img, &b); err != nil {
			return nil, err
		}
		if o.Rootfs {
			dir := filepath.Join(o.Out, "rootfs-"+goos+"-"+arch)
			_ = os.RemoveAll(dir)
			if err := Unpack(img, dir); err != nil {
				return nil, err
			}
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: goos, Architecture: arch}}})
		out = append(out, b)
	}
	idx = mutate.Annotations(idx, annotations(o)).(v1.ImageIndex)
	lp := filepath.Join(o.Out, "oci")
	_ = os.RemoveAll(lp)
	// index.json names the multi-platform index, as `docker load` / `podman load` of an OCI
	// archive expect.
	l, err := layout.Write(lp, empty.Index)
	if err == nil {
		err = l.AppendIndex(idx, layout.WithAnnotations(map[string]string{
			"org.opencontainers.image.ref.name": sanitizeTag(o.Version),
			"io.containerd.image.name":          o.Repo + ":" + sanitizeTag(o.Version)}))
	}
	if err != nil {
		return nil, fmt.Errorf("write OCI layout: %w", err)
	}
	if o.Push != "" {
		ref, err := name.ParseReference(o.Push)
		if err != nil {
			return nil, fmt.Errorf("push %q: %w", o.Push, err)
		}
		fmt.Fprintf(o.Log, "[image] pushing %s ...\n", ref)
		if err := remote.WriteIndex(ref, idx, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
			return nil, fmt.Errorf("push %s: %w", ref, err)
		}
	}
	return out, nil
}

// sanitizeTag makes a git describe string a valid tag (a-zA-Z0-9_.-, at most 128).
func sanitizeTag(v string) string {
	b := []byte(v)
	for i, c := range b {
		if !(c == '_' || c == '.' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			b[i] = '-'
		}
	}
	if len(b) > 128 {
		b = b[:128]
	}
	return string(b)
}

func goBuild(ctx context.Context, o Options, goos, arch, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w "+o.LDFlags, "-o", out, "./cmd/k8s-manage")
	cmd.Dir = o.Module
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+arch)
	cmd.Stdout, cmd.Stderr = o.Log, o.Log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build for %s/%s: %w", goos, arch, err)
	}
	return nil
}

func annotations(o Options) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":    "k8s-manage",
		"org.opencontainers.image.version":  o.Version,
		"org.opencontainers.image.revision": o.Commit,
		"org.opencontainers.image.created":  o.Created.Format(time.RFC3339),
		"org.opencontainers.image.source":   "https://github.com/k8s-manage/k8s-manage",
	}
}

// entry is one file of a layer.
type entry struct {
	hdr  tar.Header
	body []byte // regular files only (small ones); bigger files use src
	src  string
}

func dir(p string, mode int64, owner int, t time.Time) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: p + "/", Mode: mode, Uid: owner, Gid: owner, ModTime: t}}
}

func file(p string, mode int64, body []byte, t time.Time) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: mode, Size: int64(len(body)), ModTime: t}, body: body}
}

// baseLayer: the user database, CA certificates, and the writable folders (no shell, no
// package manager: nothing else).
func baseLayer(o Options) (v1.Layer, error) {
	ca, err := os.ReadFile(o.CACerts)
	if err != nil {
		return nil, fmt.Errorf("ca-certs: %w", err)
	}
	t := o.Created
	es := []entry{
		dir("etc", 0o755, 0, t),
		file("etc/passwd", 0o644, fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", uid, uid), t),
		file("etc/group", 0o644, fmt.Appendf(nil, "root:x:0:\nnonroot:x:%d:\n", uid), t),
		dir("etc/ssl", 0o755, 0, t), dir("etc/ssl/certs", 0o755, 0, t),
		file("etc/ssl/certs/ca-certificates.crt", 0o644, ca, t),
		dir("home", 0o755, 0, t), dir("home/nonroot", 0o700, uid, t),
		dir("tmp", 0o1777, 0, t),
		dir(strings.TrimPrefix(dataDir, "/"), 0o700, uid, t),
	}
	return layerOf(es)
}

// docsEntries lists docs/ as it will sit under docsRoot.
func docsEntries(root string, t time.Time) ([]entry, error) {
	var es []entry
	prefix := strings.TrimPrefix(docsRoot, "/")
	es = append(es, dir("usr", 0o755, 0, t), dir("usr/share", 0o755, 0, t), dir(prefix, 0o755, 0, t))
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(filepath.Dir(root), p)
		name := prefix + "/" + filepath.ToSlash(rel)
		if d.IsDir() {
			es = append(es, dir(name, 0o755, 0, t))
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		es = append(es, file(name, 0o644, body, t))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("docs: %w", err)
	}
	return es, nil
}

func appLayer(bin string, docs []entry, t time.Time) (v1.Layer, error) {
	st, err := os.Stat(bin)
	if err != nil {
		return nil, err
	}
	es := append([]entry{}, docs...)
	es = append(es, dir("usr/local", 0o755, 0, t), dir("usr/local/bin", 0o755, 0, t),
		entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(binPath, "/"), Mode: 0o755, Size: st.Size(), ModTime: t}, src: bin})
	return layerOf(es)
}

// layerOf writes the entries as an uncompressed tar in memory; tarball gzips it.
func layerOf(es []entry) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		h := e.hdr
		h.Format = tar.FormatPAX
		if h.Uid != 0 {
			h.Uname, h.Gname = "nonroot", "nonroot"
		}
		if err := tw.WriteHeader(&h); err != nil {
			return nil, err
		}
		switch {
		case e.src != "":
			f, err := os.Open(e.src)
			if err != nil {
				return nil, err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return nil, err
			}
		case e.body != nil:
			if _, err := tw.Write(e.body); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer))
}

func assemble(o Options, goos, arch string, layers ...v1.Layer) (v1.Image, error) {
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(img, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = goos, arch
	cf.Created = v1.Time{Time: o.Created}
	cf.Author = "k8s-manage"
	cf.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", uid, uid),
		Entrypoint: []string{binPath, "serve"},
		WorkingDir: "/",
		Env: []string{
			"PATH=/usr/local/bin",
			"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
			"HOME=/home/nonroot",
			// Listen on every interface; the store and generated keys live on the /data volume.
			"K8SM_HTTP_HOST=0.0.0.0",
			"K8SM_KNOWLEDGE_DOCS_ROOT=" + docsRoot,
			"K8SM_STORE_DSN=sqlite://" + dataDir + "/k8s-manage.db",
			"K8SM_CONFIG_CENTER_GENERATED_KEY_FILE=" + dataDir + "/config-center.key",
		},
		ExposedPorts: map[string]struct{}{port: {}},
		Volumes:      map[string]struct{}{dataDir: {}},
		Labels:       annotations(o),
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return mutate.Annotations(img, annotations(o)).(v1.Image), nil
}

func sizes(img v1.Image, b *Built) error {
	d, err := img.Digest()
	if err != nil {
		return err
	}
	b.Digest = d.String()
	ls, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range ls {
		n, err := l.Size()
		if err != nil {
			return err
		}
		b.Compressed += n
		rc, err := l.Uncompressed()
		if err != nil {
			return err
		}
		m, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return err
		}
		b.Uncompressed += m
	}
	return nil
}

// Unpack writes the image's flattened filesystem into dir, with modes and owners (owners only
// when run as root).
func Unpack(img v1.Image, dir string) error {
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	root := os.Geteuid() == 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("unpack: %w", err)
		}
		p := filepath.Join(dir, filepath.FromSlash(path.Clean("/"+h.Name)))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("unpack: %s: unexpected entry type %q", h.Name, h.Typeflag)
		}
		if err := os.Chmod(p, fs.FileMode(h.Mode&0o777)|modeBits(h.Mode)); err != nil {
			return err
		}
		if root {
			if err := os.Lchown(p, h.Uid, h.Gid); err != nil {
				return err
			}
		}
	}
}

func modeBits(m int64) fs.FileMode {
	var out fs.FileMode
	if m&0o1000 != 0 {
		out |= fs.ModeSticky
	}
	return out
}
