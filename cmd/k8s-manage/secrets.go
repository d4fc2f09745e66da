package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"k8s-manage/internal/config"
	pconfig "k8s-manage/platform/config"
)

// keyring builds the config center's keyring. With no key configured, a key is generated into
// the configured file on first use (development); production sets config_center.key.
func keyring(c config.ConfigCenter, log *slog.Logger) (*pconfig.Keyring, error) {
	key := c.Key
	if key == "" {
		data, err := os.ReadFile(c.KeyFile)
		switch {
		case err == nil:
			key = strings.TrimSpace(string(data))
		case errors.Is(err, os.ErrNotExist):
			key = pconfig.NewKey()
			if err := os.MkdirAll(filepath.Dir(c.KeyFile), 0o700); err != nil {
				return nil, err
			}
			if err := os.WriteFile(c.KeyFile, []byte(key+"\n"), 0o600); err != nil {
				return nil, fmt.Errorf("config_center.generated_key_file: %w", err)
			}
			log.Warn("generated a secret-encryption key for development; set config_center.key in production", "file", c.KeyFile)
		default:
			return nil, fmt.Errorf("config_center.generated_key_file: %w", err)
		}
	}
	keys := map[string]string{c.KeyID: key}
	for id, k := range c.PreviousKeys {
		if id != c.KeyID {
			keys[id] = k
		}
	}
	return pconfig.NewKeyring(c.KeyID, keys)
}

func newSecretsCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "secrets", Short: "Config center secrets"}
	cmd.AddCommand(&cobra.Command{
		Use:   "rotate",
		Short: "Re-encrypt every stored secret with the primary key (config_center.key_id); previous keys must still be configured",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			keys, err := keyring(cfg.ConfigCenter, discardLogger())
			if err != nil {
				return err
			}
			return withKnowledge(cmd.Context(), cfg, nil, false, func(kp *knowledgeParts) error {
				n, err := pconfig.NewService(kp.meta.DB, nil, keys, nil).RotateKeys(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "re-encrypted %d secret version(s) with key %s\n", n, cfg.ConfigCenter.KeyID)
				return nil
			})
		},
	})
	return cmd
}
