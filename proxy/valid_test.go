package proxy

import (
	"encoding/json"
	"strings"
	"testing"
)

var validCases = []string{
	``, ` `, `{}`, `[]`, `""`, `0`, `-0`, `1`, `-`, `01`, `1.`, `1.5`, `.5`, `1e5`, `1E+5`, `1e-5`, `1e`, `1e+`, `-a`,
	`true`, `false`, `null`, `tru`, `nul`, `nulll`, `True`,
	`{"a":1}`, `{"a":1,}`, `{"a" : 1 , "b" : [1, 2 ,3]}`, `{a:1}`, `{"a"}`, `{"a":}`, `{,}`, `{"a":1 "b":2}`,
	`[1,]`, `[,1]`, `[1 2]`, `[[[]]]`, `[`, `]`, `{"a":[}`,
	`"\n"`, "\"\n\"", "\"\t\"", "\"\x7f\"", "\"\xff\xfe\"", `"\u00e9"`, `"\u00G9"`, `"\u00e"`, `"\x"`, `"\/"`, `"\'"`,
	`"abc`, `"abc\"`, `"abc\\"`, " \t\r\n{}\n", "{}\v", `1 2`, `{} {}`, "\ufeff{}",
	strings.Repeat("[", maxNesting) + strings.Repeat("]", maxNesting),
	strings.Repeat("[", maxNesting+1) + strings.Repeat("]", maxNesting+1),
	strings.Repeat(`{"a":`, maxNesting) + "1" + strings.Repeat("}", maxNesting),
	strings.Repeat(`{"a":`, maxNesting+1) + "1" + strings.Repeat("}", maxNesting+1),
}

func TestValidJSONAsEncodingJSON(t *testing.T) {
	for _, c := range validCases {
		if got, want := validJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("validJSON(%.60q) = %v, json.Valid %v", c, got, want)
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, c := range validCases {
		if len(c) < 1000 { // the deep nestings make every run slow
			f.Add(c)
		}
	}
	f.Add(`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"t","inputSchema":{"type":"object","properties":{"q":{"type":"string"}}}}],"nextCursor":"30"}}`)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid %v", s, got, want)
		}
	})
}

func BenchmarkValidJSON1MB(b *testing.B) {
	msg := benchResult1MB(b)
	b.SetBytes(int64(len(msg)))
	b.Run("validJSON", func(b *testing.B) {
		for b.Loop() {
			if !validJSON(msg) {
				b.Fatal("not valid")
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		for b.Loop() {
			if !json.Valid(msg) {
				b.Fatal("not valid")
			}
		}
	})
}
