package main

import (
	"fmt"

	"github.com/zkobserver/zkobserver/internal/bench"
	"github.com/zkobserver/zkobserver/storage"
	"github.com/zkobserver/zkobserver/storage/memory"
)

// engineNames lists the storage engines, the default first.
var engineNames = []string{"memory"}

// engineFactory returns the opener of the named engine. This is the only
// place that knows the concrete engines.
func engineFactory(name string) (bench.Factory, error) {
	switch name {
	case "memory":
		return func(string) (storage.Engine, error) { return memory.New(), nil }, nil
	}
	return nil, fmt.Errorf("unknown storage engine %q (want one of %v)", name, engineNames)
}
