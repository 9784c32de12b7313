//go:build tools

// Package tools pins the peers this module builds.
package tools

import _ "github.com/NVIDIA/aistore/cmd/aisnode"
