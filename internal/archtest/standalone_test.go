package archtest

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// The repository stands alone: no file refers to a document or path outside
// it (the specification it was built from, notes, the machine it was built
// on), and every reference to the repository's own docs — docs/<file>.md#<anchor>
// in code, relative links in Markdown — leads to a file and heading that
// exist.

// outside are references to what lies outside the repository. The patterns
// are spelt in pieces so that this file does not match them itself.
var outside = []*regexp.Regexp{
	regexp.MustCompile(`\b` + "SP" + `EC(\.md)?\b`),
	regexp.MustCompile("\u00a7" + `\s?[0-9]`),
	regexp.MustCompile(`shared/(spec|notes)`),
	regexp.MustCompile(`\.\./` + "shared"),
	regexp.MustCompile(`\bnotes/[A-Za-z0-9_-]+\.md`),
	regexp.MustCompile(`/work/(main|wt-|shared|helpers)`),
}

// skipDirs are not part of the repository's content (build and run output).
var skipDirs = map[string]bool{".git": true, "bin": true, "demo": true, "bench": true, "dist": true, "fuzz-cache": true, "artifacts": true}

// repoFiles returns the text files of the repository, by path relative to
// its root, with their contents.
func repoFiles(t *testing.T) map[string][]byte {
	t.Helper()
	root := filepath.Join("..", "..")
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && skipDirs[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || d.Name() == ".git" { // a worktree's .git is a file
			return nil
		}
		info, err := d.Info()
		if err != nil || info.Size() > 4<<20 {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.IndexByte(data[:min(len(data), 8000)], 0) >= 0 {
			return nil // binary
		}
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = data
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 100 {
		t.Fatalf("only %d files found", len(files))
	}
	return files
}

// TestRepositoryStandsAlone fails on any file that refers to a path or
// document outside the repository.
func TestRepositoryStandsAlone(t *testing.T) {
	for name, data := range repoFiles(t) {
		for i, line := range strings.Split(string(data), "\n") {
			for _, re := range outside {
				if m := re.FindString(line); m != "" {
					t.Errorf("%s:%d: %q refers to something outside the repository: %s", name, i+1, m, strings.TrimSpace(line))
				}
			}
		}
	}
}

var (
	docRef   = regexp.MustCompile(`\bdocs/([a-z-]+\.md)(#[a-z0-9-]+)?`)
	mdLink   = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	fence    = regexp.MustCompile("^\\s*```")
	headLine = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*$`)
)

// slug is a heading's anchor as GitHub makes it: lower case, punctuation
// dropped, spaces to hyphens.
func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors returns the anchors of a Markdown file's headings (outside code
// blocks).
func anchors(md []byte) map[string]bool {
	out := map[string]bool{}
	in := false
	for _, line := range strings.Split(string(md), "\n") {
		if fence.MatchString(line) {
			in = !in
			continue
		}
		if m := headLine.FindStringSubmatch(line); m != nil && !in {
			out[slug(m[1])] = true
		}
	}
	return out
}

// TestDocReferencesResolve: every docs/<file>.md#<anchor> named anywhere, and
// every relative link of a Markdown file, leads to a file of the
// repository and, with an anchor, to a heading of it.
func TestDocReferencesResolve(t *testing.T) {
	files := repoFiles(t)
	check := func(where, target, anchor string) {
		data, ok := files[target]
		if !ok {
			if st, err := os.Stat(filepath.Join("..", "..", target)); err != nil || !st.IsDir() {
				t.Errorf("%s: %s does not exist in the repository", where, target)
			}
			return
		}
		if anchor != "" && strings.HasSuffix(target, ".md") && !anchors(data)[anchor] {
			t.Errorf("%s: %s has no heading #%s", where, target, anchor)
		}
	}
	n := 0
	for name, data := range files {
		for i, line := range strings.Split(string(data), "\n") {
			where := name + ":" + strconv.Itoa(i+1)
			for _, m := range docRef.FindAllStringSubmatch(line, -1) {
				check(where, "docs/"+m[1], strings.TrimPrefix(m[2], "#"))
				n++
			}
			if !strings.HasSuffix(name, ".md") {
				continue
			}
			for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
				link := m[1]
				if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
					continue
				}
				target, anchor, _ := strings.Cut(link, "#")
				if target == "" {
					target = name
				} else {
					target = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(name), target)))
				}
				if strings.HasPrefix(target, "../") {
					t.Errorf("%s: link %s leaves the repository", where, link)
					continue
				}
				check(where, target, anchor)
				n++
			}
		}
	}
	if n < 50 {
		t.Fatalf("only %d references checked", n)
	}
}
