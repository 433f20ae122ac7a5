package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// restoreCommand is a placeholder until the command is built (issue 4).
func restoreCommand() *cli.Command {
	return &cli.Command{
		Name:   "restore",
		Hidden: true,
		Action: func(*cli.Context) error { return errors.New("restore: not built yet") },
	}
}
