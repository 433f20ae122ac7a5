// Command zkobserver is a ZooKeeper observer written in Go. See README.md.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	app := newApp()
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "zkobserver:", err)
		os.Exit(1)
	}
}

func newApp() *cli.App {
	return &cli.App{
		Name:  "zkobserver",
		Usage: "a ZooKeeper observer written in Go",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "trace|debug|info|warn|error", EnvVars: []string{"ZKOBSERVER_LOG_LEVEL"}},
		},
		Before: func(c *cli.Context) error {
			// Milliseconds in log timestamps (zerolog's default is seconds).
			zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000Z07:00"
			lvl, err := zerolog.ParseLevel(c.String("log-level"))
			if err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			zerolog.SetGlobalLevel(lvl)
			return nil
		},
		Commands: []*cli.Command{
			runCommand(),
			benchCommand(),
			restoreCommand(),
			snapshotCommand(),
			{
				Name:  "version",
				Usage: "print the version",
				Action: func(c *cli.Context) error {
					fmt.Fprintf(c.App.Writer, "zkobserver %s (%s, %s/%s)\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
					return nil
				},
			},
		},
	}
}

func buildVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return version
}
