package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/passkeyd/passkeyd"
)

// keysRotate is "passkeyd keys rotate": a new key seals pending
// ceremonies from now on (every instance picks it up within 15 seconds),
// and the old one still opens what it sealed for one ceremony TTL.
func keysRotate(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("keys rotate")
	dsn := addDBFlag(fs)
	pos, err := parseFlags(fs, args, e.getenv, e.stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("keys rotate: unexpected argument %q", pos[0])
	}
	b, err := openBackend(ctx, *dsn)
	if err != nil {
		return err
	}
	defer b.Close()
	id, err := passkeyd.RotateCeremonyKey(ctx, b, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "ceremony key %d now seals; the previous key still opens for one ceremony TTL\n", id)
	return nil
}

// keysList is "passkeyd keys list": the stored ceremony keys, without
// their secrets.
func keysList(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("keys list")
	dsn := addDBFlag(fs)
	pos, err := parseFlags(fs, args, e.getenv, e.stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("keys list: unexpected argument %q", pos[0])
	}
	b, err := openReadOnly(ctx, *dsn)
	if err != nil {
		return err
	}
	defer b.Close()
	keys, err := b.CeremonyKeys(ctx)
	if err != nil {
		return err
	}
	for _, k := range keys {
		state := "sealing"
		if !k.RetiredAt.IsZero() {
			state = "retired " + k.RetiredAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(e.stdout, "%d\tcreated %s\t%s\n", k.ID, k.CreatedAt.UTC().Format(time.RFC3339), state)
	}
	return nil
}

// maxKeyFile bounds the ceremony key file: a few keys, not a disk.
const maxKeyFile = 64 << 10

// readCeremonyKeys reads --ceremony-key-file: base64 (standard or URL-safe,
// padded or not) 32-byte keys, one a line; blank lines and lines starting
// with # are skipped. No file means the keys live in the database.
func readCeremonyKeys(path string) ([][]byte, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("--ceremony-key-file: %v", err)
	}
	if len(b) > maxKeyFile {
		return nil, usagef("--ceremony-key-file: %s is larger than %d bytes", path, maxKeyFile)
	}
	var keys [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, err := decodeKey(line)
		if err != nil || len(key) != 32 {
			// The line is a secret: say where, never what.
			return nil, usagef("--ceremony-key-file: line %d is not a base64 32-byte key (make one with: head -c 32 /dev/urandom | base64)", n)
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, usagef("--ceremony-key-file: %s holds no key", path)
	}
	return keys, nil
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("not base64")
}
