package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	app := newApp()
	var out bytes.Buffer
	app.Writer = &out
	if err := app.Run([]string{"zkobserver", "version"}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "zkobserver ") {
		t.Fatalf("output %q", out.String())
	}
	if err := app.Run([]string{"zkobserver", "--log-level", "loud", "version"}); err == nil {
		t.Fatal("bad --log-level accepted")
	}
}
