package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// snapshotInspectCommand is a placeholder until the command is built (issue 4).
func snapshotInspectCommand() *cli.Command {
	return &cli.Command{
		Name:   "inspect",
		Hidden: true,
		Action: func(*cli.Context) error { return errors.New("inspect: not built yet") },
	}
}
