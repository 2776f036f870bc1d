package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/lakegate/lakegate/internal/authn"
)

func newToken() *cobra.Command {
	var (
		key        string
		selfSigned bool
		spec       authn.TokenSpec
	)
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print a signed JWT for a user",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if spec.User == "" {
				return errors.New("--user is required")
			}
			var (
				tok string
				err error
			)
			switch {
			case selfSigned:
				tok, err = authn.SignSelfSigned(spec, time.Now())
			case key == "":
				return errors.New("--key FILE is required (the private key from 'lakegate keygen'), or --self-signed for a proof of concept")
			default:
				signer, lerr := authn.LoadPrivateKey(key)
				if lerr != nil {
					return lerr
				}
				tok, err = authn.SignToken(signer, spec, time.Now())
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), tok)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&key, "key", "", "private key PEM file (from 'lakegate keygen')")
	f.StringVar(&spec.User, "user", "", "user name (the token's sub)")
	f.StringSliceVar(&spec.Groups, "groups", nil, "comma-separated groups")
	f.DurationVar(&spec.TTL, "ttl", time.Hour, "how long the token is valid")
	f.StringVar(&spec.Issuer, "issuer", "", "issuer (iss) to set")
	f.StringVar(&spec.Audience, "audience", "", "audience (aud) to set")
	f.StringToStringVar(&spec.Attributes, "attribute", nil, "user attribute k=v for user_attribute('k'); repeatable")
	f.BoolVar(&selfSigned, "self-signed", false, "sign with a throwaway key embedded in the token (accepted only by a planner run with --insecure-accept-self-signed)")
	return cmd
}
