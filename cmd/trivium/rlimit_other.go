//go:build !unix

package main

import "errors"

// raiseFDLimit has no descriptor limit to raise here; the reserve then counts connections only.
func raiseFDLimit() (int, error) { return 0, errors.ErrUnsupported }
