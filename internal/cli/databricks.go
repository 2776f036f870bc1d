package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lakegate/lakegate/internal/databricks"
)

func newDatabricks() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "databricks",
		Short: "Install lakegate on Databricks: init script, jars upload, cluster configuration and policy",
		Long: `Generate what a Databricks cluster needs to run with lakegate (guide: docs/databricks.md):
  init-script     the node init script (installs the jar, writes the driver's Spark configuration)
  upload-libs     stage the jars and the init script and upload them to DBFS, a volume or S3
  cluster-config  the cluster JSON for the Clusters API (environment, init script, secrets)
  cluster-policy  a cluster policy fixing the same settings`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newDatabricksInitScript(), newDatabricksUploadLibs(),
		newDatabricksCluster("cluster-config", "Print the cluster JSON fragment for the Clusters API", databricks.ClusterConfig),
		newDatabricksCluster("cluster-policy", "Print a cluster policy whose lakegate attributes are fixed", databricks.ClusterPolicy))
	return cmd
}

func newDatabricksInitScript() *cobra.Command {
	var (
		o       databricks.InitScriptOptions
		jarsDir string
		out     string
	)
	cmd := &cobra.Command{
		Use:   "init-script [--libs-from dbfs:/DIR|s3://BUCKET/PREFIX|/Volumes/…] [--init-hms-schema] [--jars-dir build/spark]",
		Short: "Print the Databricks init script",
		Long: `Print the POSIX sh init script that installs lakegate on every node at cluster start
(see docs/databricks.md). --jars-dir pins the SHA-256 of each jar found there: the
script then refuses a jar that differs (upload-libs always pins). --init-hms-schema
lets the first start create the Hive metastore's tables; remove it afterwards.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Version = Version
			if jarsDir != "" {
				sums, err := databricks.JarChecksums(jarsDir)
				if err != nil {
					return err
				}
				o.JarSHA256 = sums
			}
			script, err := databricks.InitScript(o)
			if err != nil {
				return err
			}
			if o.InitHMSSchema {
				fmt.Fprintln(cmd.ErrOrStderr(), databricks.HMSSchemaWarning)
			}
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(script)
				return err
			}
			return os.WriteFile(out, script, 0o755)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.LibsFrom, "libs-from", databricks.DefaultLibsFrom, "where the nodes find the jars: dbfs:/DIR, s3://BUCKET/PREFIX, https://…, or a path on the nodes (/Volumes/…)")
	f.BoolVar(&o.InitHMSSchema, "init-hms-schema", false, "let the first start create the Hive metastore's tables (datanucleus.autoCreateSchema=true, hive.metastore.schema.verification=false); remove afterwards")
	f.StringVar(&jarsDir, "jars-dir", "", "directory of the built jars (build/spark) whose SHA-256 the script pins")
	f.StringVar(&out, "out", "", "write the script to this file (mode 0755) instead of stdout")
	return cmd
}

func newDatabricksUploadLibs() *cobra.Command {
	var (
		o      databricks.UploadOptions
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "upload-libs --to dbfs:/DIR|/Volumes/…|s3://BUCKET/PREFIX|LOCAL_DIR",
		Short: "Stage the jars and a matching init script, and upload them",
		Long: `Stage the three lakegate-spark jars of --jars-dir and an init script pinned to their
SHA-256 in --stage (a temporary directory by default), then upload them with the
Databricks CLI (dbfs:/…, /Volumes/…) or the AWS CLI (s3://…), or copy them into a
local directory. --dry-run prints the commands and keeps the staged files.
--libs-from names the destination as the nodes see it when that differs from --to
(a local directory standing in for DBFS in a sandbox). Prints the init script's
location for 'cluster-config --init-script'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			o.Version = Version
			keep := dryRun || o.StageDir != ""
			if o.StageDir == "" {
				if o.StageDir, err = os.MkdirTemp("", "lakegate-databricks-"); err != nil {
					return err
				}
			} else if err = os.MkdirAll(o.StageDir, 0o755); err != nil {
				return err
			}
			if !keep {
				defer os.RemoveAll(o.StageDir)
			}
			p, err := databricks.PlanUpload(o)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "staged in %s: %s\n", p.StageDir, strings.Join(p.Files, ", "))
			if o.InitHMSSchema {
				fmt.Fprintln(cmd.ErrOrStderr(), databricks.HMSSchemaWarning)
			}
			switch {
			case p.LocalDir != "" && dryRun:
				fmt.Fprintf(w, "would copy them into %s\n", p.LocalDir)
			case p.LocalDir != "":
				if err := p.CopyStaged(); err != nil {
					return err
				}
				fmt.Fprintf(w, "copied them into %s\n", p.LocalDir)
			default:
				for _, c := range p.Commands {
					fmt.Fprintln(w, "$", databricks.ShellJoin(c))
					if !dryRun {
						if err := run(c, w, cmd.ErrOrStderr()); err != nil {
							return err
						}
					}
				}
			}
			fmt.Fprintf(w, "libs location (in the init script): %s\ninit script: %s\n", p.LibsFrom, p.InitScript)
			if dryRun {
				fmt.Fprintln(w, "dry run: nothing was uploaded")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.To, "to", "", "destination: dbfs:/DIR, /Volumes/CATALOG/SCHEMA/VOLUME/DIR, s3://BUCKET/PREFIX or a local directory")
	f.StringVar(&o.LibsFrom, "libs-from", "", "the destination as the nodes see it, when it differs from --to (default: --to)")
	f.StringVar(&o.JarsDir, "jars-dir", "build/spark", "directory of the built jars (spark/build.sh all)")
	f.StringVar(&o.StageDir, "stage", "", "directory to stage the files in (kept); default a temporary directory, removed after the upload")
	f.StringVar(&o.Profile, "profile", "", "profile of the Databricks CLI or the AWS CLI")
	f.BoolVar(&o.InitHMSSchema, "init-hms-schema", false, "generate the init script with --init-hms-schema (first start only)")
	f.BoolVar(&dryRun, "dry-run", false, "print the upload commands and keep the staged files; upload nothing")
	return cmd
}

func newDatabricksCluster(use, short string, gen func(databricks.ClusterOptions) (databricks.Generated, error)) *cobra.Command {
	var (
		o    databricks.ClusterOptions
		auth string
	)
	cmd := &cobra.Command{
		Use:   use + " --auth signing-key|cluster-token|self-signed|okera-token --planner HOST:PORT --init-script LOCATION",
		Short: short,
		Long: short + `. Keys and tokens appear only as Databricks secret references,
{{secrets/<scope>/<key>}} (--secrets-scope, --secret-key); nothing secret is accepted
on the command line. An s3:// init script needs --region and --instance-profile;
the instance profile is set only then. --okera-fs --ensemble URL routes the cluster's
S3 access through the ensemble (S3 proxy). Which mode for which cluster: docs/databricks.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Auth = databricks.AuthMode(auth)
			if !o.OkeraFS && !cmd.Flags().Changed("ensemble") {
				o.Ensemble = "" // LAKEGATE_ENSEMBLE, set for 'lakegate ensemble credentials', matters with --okera-fs only
			}
			g, err := gen(o)
			if err != nil {
				return err
			}
			for _, w := range g.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "WARNING:", w)
			}
			_, err = cmd.OutOrStdout().Write(g.JSON)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&auth, "auth", "", "authentication mode: signing-key, cluster-token, self-signed or okera-token")
	f.StringVar(&o.Planner, "planner", "", "planner host[:port] the cluster uses (port 12050 when omitted)")
	f.StringVar(&o.InitScript, "init-script", "", "location of lakegate-init.sh: s3://…, dbfs:/…, /Volumes/… or /Workspace/…")
	f.BoolVar(&o.OkeraFS, "okera-fs", false, "route the cluster's S3 access through the ensemble (S3 proxy): OKERA_ENABLE_OKERA_FS=true; needs --ensemble")
	f.StringVar(&o.Ensemble, "ensemble", "", "the ensemble's base URL for --okera-fs: http://host[:port] or https://host[:port]")
	f.StringVar(&o.SecretsScope, "secrets-scope", databricks.DefaultSecretsScope, "Databricks secret scope holding the key or token")
	f.StringVar(&o.SecretKey, "secret-key", "", "key of the secret in the scope (default: jwt-signing-key, cluster-token or okera-token, by mode)")
	f.StringVar(&o.Region, "region", "", "AWS region of an s3:// init script")
	f.StringVar(&o.InstanceProfile, "instance-profile", "", "instance profile ARN that may read an s3:// init script and jars")
	return cmd
}

// run runs an upload command, its output passed through.
func run(c []string, stdout, stderr io.Writer) error {
	if _, err := exec.LookPath(c[0]); err != nil {
		return fmt.Errorf("%s not found on PATH: install it, or run with --dry-run and upload the staged files yourself", c[0])
	}
	x := exec.Command(c[0], c[1:]...)
	x.Stdout, x.Stderr = stdout, stderr
	if err := x.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("%s failed (exit %d)", databricks.ShellJoin(c), ee.ExitCode())
		}
		return fmt.Errorf("%s: %w", databricks.ShellJoin(c), err)
	}
	return nil
}
