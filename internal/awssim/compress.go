package awssim

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
)

// gzipMinSize is the body size from which responses are compressed.
const gzipMinSize = 1024

// compressingWriter buffers a response and gzips it when the client accepts
// gzip (Go's transport asks for it unless the SDK says identity) and the body
// is large enough. Besides saving bytes, a compressed page fits in the
// client's first 4 KiB read: aws-sdk-go-v2 can close a connection while a
// fast local server's larger response is still being read (aws-sdk-go-v2
// #2737, "use of closed network connection"), which real AWS's latency hides.
type compressingWriter struct {
	w      http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}

func (c *compressingWriter) Header() http.Header { return c.w.Header() }

func (c *compressingWriter) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *compressingWriter) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.buf.Write(p)
}

// finish sends the buffered response, compressed if worthwhile.
func (c *compressingWriter) finish() {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	body := c.buf.Bytes()
	h := c.w.Header()
	if len(body) >= gzipMinSize && h.Get("Content-Encoding") == "" {
		var z bytes.Buffer
		gw := gzip.NewWriter(&z)
		gw.Write(body)
		gw.Close()
		body = z.Bytes()
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(c.status)
	c.w.Write(body)
}
