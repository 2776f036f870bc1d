//go:build !unix

package planner

func descriptorLimit() int { return 0 }
