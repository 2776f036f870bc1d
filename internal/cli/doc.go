// Package cli is the lakegate command line: one file per subcommand. Each
// command only parses its flags (falling back to the environment) and calls
// the packages that do the work.
package cli
