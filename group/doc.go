// Package group is a drop-in replacement for golang.org/x/sync/errgroup.
package group
