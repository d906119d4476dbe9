package passkeyd

import (
	"embed"
	"io/fs"
)

//go:embed static/passkey.js
var staticFiles embed.FS

// StaticFS holds the browser script passkey.js (the PasskeyAPI), for a
// host app to serve, e.g. under /static/.
func StaticFS() fs.FS {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embedded folder is fixed at build time
	}
	return sub
}
