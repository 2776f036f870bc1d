package databricks

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// UploadOptions configure PlanUpload.
type UploadOptions struct {
	// To is where the files go: dbfs:/DIR, a Unity Catalog volume
	// (/Volumes/… or dbfs:/Volumes/…), s3://BUCKET/PREFIX, or a local
	// directory (any other absolute path, or file:///…).
	To string
	// LibsFrom is the same place as the nodes see it, when that differs from
	// To (a local directory standing in for DBFS: To=/tmp/sbx/dbfs/lakegate,
	// LibsFrom=dbfs:/lakegate). Empty: derived from To.
	LibsFrom string
	// JarsDir holds the built jars (build/spark).
	JarsDir string
	// StageDir receives the files to upload; it must exist.
	StageDir      string
	InitHMSSchema bool
	Version       string
	// Profile is the Databricks CLI or AWS CLI profile (--profile), if any.
	Profile string
}

// UploadPlan is what PlanUpload staged and how to upload it.
type UploadPlan struct {
	StageDir string
	Files    []string // file names in StageDir: the jars and the init script
	// Commands upload the staged files (databricks or aws CLI), in order;
	// empty when LocalDir is set.
	Commands [][]string
	// LocalDir is the local directory to copy the files into, for a local To.
	LocalDir string
	// LibsFrom is the libs location written into the init script.
	LibsFrom string
	// InitScript is the init script's location, for --init-script of
	// cluster-config and cluster-policy.
	InitScript string
}

// PlanUpload stages the jars of JarsDir and an init script pinned to their
// checksums in StageDir, and says how to upload them to To.
func PlanUpload(o UploadOptions) (UploadPlan, error) {
	to := strings.TrimRight(strings.TrimSpace(o.To), "/")
	if to == "" {
		return UploadPlan{}, fmt.Errorf("--to is required: dbfs:/DIR, /Volumes/CATALOG/SCHEMA/VOLUME/DIR, s3://BUCKET/PREFIX or a local directory")
	}
	if !safeLocation.MatchString(to) {
		return UploadPlan{}, fmt.Errorf("--to %q: only letters, digits and . _ ~ : / @ %% + = , - are allowed", to)
	}
	p := UploadPlan{StageDir: o.StageDir}
	var remote string // the destination directory as the CLI names it
	switch {
	case strings.HasPrefix(to, "dbfs:/Volumes/"), strings.HasPrefix(to, "/Volumes/"):
		p.LibsFrom = strings.TrimPrefix(to, "dbfs:")
		remote = "dbfs:" + p.LibsFrom
	case strings.HasPrefix(to, "dbfs:/"):
		p.LibsFrom, remote = to, to
	case strings.HasPrefix(to, "s3://"):
		p.LibsFrom, remote = to, to
	case strings.HasPrefix(to, "/Workspace/"):
		return UploadPlan{}, fmt.Errorf("--to %q: upload to a volume (/Volumes/…) or DBFS; workspace files need 'databricks workspace import' one by one", to)
	case strings.HasPrefix(to, "file:///"), strings.HasPrefix(to, "/"):
		p.LocalDir = strings.TrimPrefix(to, "file://")
		p.LibsFrom = p.LocalDir
	default:
		return UploadPlan{}, fmt.Errorf("--to %q: use dbfs:/DIR, /Volumes/…, s3://BUCKET/PREFIX or a local directory", to)
	}
	if o.LibsFrom != "" {
		p.LibsFrom = o.LibsFrom
	}
	libs, err := NormalizeLibsFrom(p.LibsFrom)
	if err != nil {
		return UploadPlan{}, err
	}
	p.LibsFrom = libs

	sums, err := JarChecksums(o.JarsDir)
	if err != nil {
		return UploadPlan{}, err
	}
	for _, v := range Variants {
		if err := copyFile(filepath.Join(o.JarsDir, v.JarName()), filepath.Join(o.StageDir, v.JarName()), 0o644); err != nil {
			return UploadPlan{}, err
		}
		p.Files = append(p.Files, v.JarName())
	}
	script, err := InitScript(InitScriptOptions{LibsFrom: p.LibsFrom, InitHMSSchema: o.InitHMSSchema, JarSHA256: sums, Version: o.Version})
	if err != nil {
		return UploadPlan{}, err
	}
	if err := os.WriteFile(filepath.Join(o.StageDir, InitScriptName), script, 0o755); err != nil {
		return UploadPlan{}, err
	}
	p.Files = append(p.Files, InitScriptName)

	p.InitScript = p.LibsFrom + "/" + InitScriptName
	switch {
	case p.LocalDir != "":
	case strings.HasPrefix(remote, "s3://"):
		for _, f := range p.Files {
			p.Commands = append(p.Commands, withProfile([]string{"aws", "s3", "cp", "--only-show-errors", filepath.Join(o.StageDir, f), remote + "/" + f}, o.Profile))
		}
	default:
		p.Commands = append(p.Commands, withProfile([]string{"databricks", "fs", "mkdir", remote}, o.Profile))
		for _, f := range p.Files {
			p.Commands = append(p.Commands, withProfile([]string{"databricks", "fs", "cp", "--overwrite", filepath.Join(o.StageDir, f), remote + "/" + f}, o.Profile))
		}
	}
	return p, nil
}

func withProfile(cmd []string, profile string) []string {
	if profile == "" {
		return cmd
	}
	return append(cmd, "--profile", profile)
}

// CopyStaged copies the staged files into the plan's LocalDir.
func (p UploadPlan) CopyStaged() error {
	if err := os.MkdirAll(p.LocalDir, 0o755); err != nil {
		return err
	}
	for _, f := range p.Files {
		mode := os.FileMode(0o644)
		if f == InitScriptName {
			mode = 0o755
		}
		if err := copyFile(filepath.Join(p.StageDir, f), filepath.Join(p.LocalDir, f), mode); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies src to dst through a temporary file in dst's directory,
// so dst is never seen half written.
func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return fmt.Errorf("copying %s: %w", src, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
