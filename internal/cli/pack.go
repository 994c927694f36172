package cli

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/identity"
)

// PackSignatureFile is where `orgguard pack sign` writes a pack's
// signature; apply sends it along. It is not an .hcl file, so it is not part
// of the pack's digest.
const PackSignatureFile = "orgguard.sig"

// checkFloor applies a trust config's governance floor to a pack, as the
// rollout workflow does at an apply start, and prints the violations.
func checkFloor(set *guardrails.Set, dir, trustConfig string, w io.Writer) error {
	cfg, diags := identity.LoadConfig(trustConfig)
	if diags.HasErrors() {
		wr := hcl.NewDiagnosticTextWriter(w, nil, 100, false)
		_ = wr.WriteDiagnostics(diags)
		return failf(exitFindings, "trust config %s is invalid", trustConfig)
	}
	_, violations := cfg.Floor.Enforce(*set, "apply", readPackSignature(dir))
	if len(violations) == 0 {
		return nil
	}
	for _, v := range violations {
		fmt.Fprintf(w, "Error: below the governance floor of %s: %s\n", trustConfig, v)
	}
	return failf(exitFindings, "%s: %d violation(s) of the governance floor; apply would be refused", dir, len(violations))
}

func packCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "pack", Short: "Sign packs for trust configs that admit signed packs"}
	keygen := &cobra.Command{
		Use:   "keygen PRIVATE.jwk PUBLIC.jwk",
		Short: "Make an Ed25519 pack signing key pair (JWK); list PUBLIC.jwk in the trust config's packs.signing_key_files",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			pub, priv, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				return err
			}
			k := jose.JSONWebKey{Key: priv, Algorithm: string(jose.EdDSA), Use: "sig"}
			tp, _ := k.Thumbprint(crypto.SHA256)
			k.KeyID = fmt.Sprintf("%x", tp[:8])
			pk := jose.JSONWebKey{Key: pub, Algorithm: string(jose.EdDSA), Use: "sig", KeyID: k.KeyID}
			pb, _ := json.MarshalIndent(k, "", "  ")
			ub, _ := json.MarshalIndent(pk, "", "  ")
			if err := os.WriteFile(args[0], pb, 0o600); err != nil {
				return err
			}
			if err := os.WriteFile(args[1], ub, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Wrote %s (private, keep it secret) and %s (public, key ID %s)\n", args[0], args[1], k.KeyID)
			return nil
		},
	}
	var p packFlags
	var keyFile string
	sign := &cobra.Command{
		Use:   "sign DIR --key PRIVATE.jwk",
		Short: "Sign a pack's digest; writes DIR/" + PackSignatureFile,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := p.loadPack(args[0], cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			raw, err := os.ReadFile(keyFile)
			if err != nil {
				return failf(exitUsage, "--key: %v", err)
			}
			var k jose.JSONWebKey
			if err := k.UnmarshalJSON(raw); err != nil || k.IsPublic() {
				return failf(exitUsage, "--key %s is not a private JWK", keyFile)
			}
			sig, err := identity.SignPack(set.Digest, k)
			if err != nil {
				return failf(exitFindings, "sign: %v", err)
			}
			path := filepath.Join(args[0], PackSignatureFile)
			if err := os.WriteFile(path, []byte(sig+"\n"), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Signed pack %s (digest %s) with key %s: %s\n", args[0], guardrails.ShortDigest(set.Digest), k.KeyID, path)
			return nil
		},
	}
	p.bind(sign)
	sign.Flags().StringVar(&keyFile, "key", "", "private JWK from 'orgguard pack keygen'")
	cmd.AddCommand(keygen, sign)
	return cmd
}

// readPackSignature returns DIR/orgguard.sig, or "".
func readPackSignature(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, PackSignatureFile))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
