package main

import "github.com/urfave/cli/v2"

// snapshotCommand groups the commands that work on ZooKeeper snapshot files.
func snapshotCommand() *cli.Command {
	return &cli.Command{
		Name:  "snapshot",
		Usage: "inspect and export ZooKeeper 3.8 snapshot files",
		Subcommands: []*cli.Command{
			snapshotInspectCommand(),
			snapshotExportCommand(),
		},
	}
}
