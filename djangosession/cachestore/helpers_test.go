package cachestore

import (
	"compress/zlib"
	"encoding/json"
	"io"
)

func zlibWriter(w io.Writer) io.WriteCloser { return zlib.NewWriter(w) }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
