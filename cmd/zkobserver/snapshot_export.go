package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// snapshotExportCommand is a placeholder until the command is built (issue 4).
func snapshotExportCommand() *cli.Command {
	return &cli.Command{
		Name:   "export",
		Hidden: true,
		Action: func(*cli.Context) error { return errors.New("export: not built yet") },
	}
}
