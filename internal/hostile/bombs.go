package hostile

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
)

// DataLineFlood is an event-stream response whose one event never ends:
// total bytes of short "data:" lines and never the blank line that would
// complete the event. It is written as it goes, never held in memory.
func DataLineFlood(total int64) *Response {
	line := "data: " + strings.Repeat("x", 57) + "\n" // 64 bytes
	chunk := []byte(strings.Repeat(line, (64<<10)/len(line)))
	return &Response{
		Header: http.Header{"Content-Type": {"text/event-stream"}, "Cache-Control": {"no-cache"}},
		Stream: func(w io.Writer) error {
			for written := int64(0); written < total; written += int64(len(chunk)) {
				if _, err := w.Write(chunk); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// GzipBomb is a JSON response sent with Content-Encoding: gzip that
// inflates to size bytes of JSON whitespace followed by message: valid
// JSON, absurdly large. It compresses about a thousand to one (size 1.5 GiB
// is about 1.5 MB on the wire) and is written as a run of concatenated gzip
// members, so neither side of the test holds it in memory.
func GzipBomb(size int64, message string) *Response {
	const block = 1 << 20
	member := gzipped(bytes.Repeat([]byte(" "), block))
	tail := gzipped([]byte(message))
	return &Response{
		Header: http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}},
		Stream: func(w io.Writer) error {
			for n := int64(0); n < size; n += block {
				if _, err := w.Write(member); err != nil {
					return err
				}
			}
			_, err := w.Write(tail)
			return err
		},
	}
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}
