package toolcache

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// readAtMost reads what io.ReadAll of a LimitReader reads: the whole file,
// or limit bytes of a longer one, also of a file that grew since it was
// opened (its size was taken before).
func TestReadAtMostIsReadAllOfALimitReader(t *testing.T) {
	const limit = 4096
	path := filepath.Join(t.TempDir(), "f")
	for _, size := range []int{0, 1, 511, 512, 513, limit - 1, limit, limit + 1, 3 * limit} {
		for _, grow := range []int{0, 1, 700, limit} {
			data := bytes.Repeat([]byte("0123456789abcdef"), (size+grow)/16+1)[:size+grow]
			if err := os.WriteFile(path, data[:size], 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Stat(); err != nil {
				t.Fatal(err)
			}
			got, err := func() ([]byte, error) {
				if grow > 0 {
					w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
					if err != nil {
						return nil, err
					}
					defer w.Close()
					return readGrowing(f, w, data[size:], limit)
				}
				return readAtMost(f, limit)
			}()
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			want, _ := io.ReadAll(io.LimitReader(bytes.NewReader(data), limit))
			if !bytes.Equal(got, want) {
				t.Errorf("size %d, grown by %d: read %d bytes, io.ReadAll %d", size, grow, len(got), len(want))
			}
		}
	}
}

// readGrowing reads f with readAtMost, appending more to the file through
// w after readAtMost's Stat has seen it as it was.
func readGrowing(f *os.File, w *os.File, more []byte, limit int64) ([]byte, error) {
	growAfterStat = func() {
		growAfterStat = nil
		_, _ = w.Write(more)
	}
	defer func() { growAfterStat = nil }()
	return readAtMost(f, limit)
}
