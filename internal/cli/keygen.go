package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lakegate/lakegate/internal/authn"
)

func newKeygen() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Write a new token signing key pair: jwt-private.pem (PKCS#8) and jwt-public.pem (PKIX)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			priv, pub, err := authn.GenerateKeyPair(out)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "private key: %s (keep it secret: it can sign tokens for any user)\npublic key:  %s (give it to 'lakegate serve --jwt-public-key')\n", priv, pub)
			return err
		},
	}
	cmd.Flags().StringVar(&out, "out", ".", "directory to write the keys to")
	return cmd
}
