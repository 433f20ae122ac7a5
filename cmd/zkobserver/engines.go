package main

import (
	"fmt"

	"github.com/zkobserver/zkobserver/internal/bench"
	"github.com/zkobserver/zkobserver/storage"
	"github.com/zkobserver/zkobserver/storage/bolt"
	"github.com/zkobserver/zkobserver/storage/memory"
	"github.com/zkobserver/zkobserver/storage/pebble"
)

// engineNames lists the storage engines.
var engineNames = []string{"memory", "bolt", "pebble"}

// engineFactory returns the opener of the named engine. This is the only
// place that knows the concrete engines.
func engineFactory(name string) (bench.Factory, error) {
	switch name {
	case "memory":
		return func(string) (storage.Engine, error) { return memory.New(), nil }, nil
	case "bolt":
		return func(dir string) (storage.Engine, error) { return nonNil(bolt.Open(dir, bolt.Options{})) }, nil
	case "pebble":
		return func(dir string) (storage.Engine, error) { return nonNil(pebble.Open(dir, pebble.Options{})) }, nil
	}
	return nil, fmt.Errorf("unknown storage engine %q (want one of %v)", name, engineNames)
}

// nonNil keeps a failed Open from returning a nil *Engine inside a non-nil
// storage.Engine.
func nonNil[E storage.Engine](e E, err error) (storage.Engine, error) {
	if err != nil {
		return nil, err
	}
	return e, nil
}
