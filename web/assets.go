// Package webui embeds the built console and widget: web/dist, produced by `make web-build`
// (Vite) from the TypeScript sources in web/src. Without a build, dist holds only .gitkeep and
// the server falls back to its minimal chat page.
package webui

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Assets is the content of web/dist.
func Assets() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // cannot happen: dist is embedded
	}
	return sub
}
