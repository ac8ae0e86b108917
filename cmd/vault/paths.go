package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mutual-aid-vault/vault/vault"
)

// identityPath is --identity, else $VAULT_IDENTITY, else
// $XDG_CONFIG_HOME/vault/identity.age (~/.config when unset).
func (a *app) identityPath() (string, error) {
	if a.identityFlag != "" {
		return a.identityFlag, nil
	}
	if p := a.getenv("VAULT_IDENTITY"); p != "" {
		return p, nil
	}
	return a.xdg("XDG_CONFIG_HOME", ".config", "identity.age")
}

// vaultPath is where the vault is, in this order: --vault, else
// $VAULT_FILE, else the vault the configuration file names (written by
// 'vault join' and by 'vault init --vault'), else
// $XDG_DATA_HOME/vault/vault.db (~/.local/share when unset).
func (a *app) vaultPath() (string, error) {
	if a.vaultFlag != "" {
		return a.vaultFlag, nil
	}
	if p := a.getenv("VAULT_FILE"); p != "" {
		return p, nil
	}
	if p, err := a.configuredVault(); err != nil || p != "" {
		return p, err
	}
	return a.defaultVaultPath()
}

// defaultVaultPath is $XDG_DATA_HOME/vault/vault.db.
func (a *app) defaultVaultPath() (string, error) {
	return a.xdg("XDG_DATA_HOME", filepath.Join(".local", "share"), "vault.db")
}

// dataDir is the data folder, $XDG_DATA_HOME/vault: where 'vault join'
// puts the group's file.
func (a *app) dataDir() (string, error) {
	return xdgDir(a.getenv, "XDG_DATA_HOME", filepath.Join(".local", "share"))
}

// configPath is the member's configuration file,
// $XDG_CONFIG_HOME/vault/config, beside the identity's default place.
func (a *app) configPath() (string, error) {
	return a.xdg("XDG_CONFIG_HOME", ".config", "config")
}

// configuredVault is the vault file the configuration names, with a
// leading ~/ made the home folder, or "" when it names none.
func (a *app) configuredVault() (string, error) {
	path, err := a.configPath()
	if err != nil {
		return "", nil // no HOME: the default path says why
	}
	c, err := vault.ReadConfig(path)
	if err != nil || c.Vault == "" {
		return "", err
	}
	if rest, ok := strings.CutPrefix(c.Vault, "~/"); ok {
		home := a.getenv("HOME")
		if home == "" {
			return "", fmt.Errorf("the configuration %s names %s, but HOME is not set; set HOME or write the full path there", path, c.Vault)
		}
		return filepath.Join(home, rest), nil
	}
	return c.Vault, nil
}

// rememberVault makes the configuration name the vault file at path, so
// that later commands find it without --vault or VAULT_FILE.
func (a *app) rememberVault(path string) error {
	cfg, err := a.configPath()
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	return vault.SetConfig(cfg, "vault", abs)
}

func (a *app) xdg(env, fallback, file string) (string, error) {
	dir, err := xdgDir(a.getenv, env, fallback)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, file), nil
}

// xdgDir is $env/vault, else $HOME/fallback/vault.
func xdgDir(getenv func(string) string, env, fallback string) (string, error) {
	dir := getenv(env)
	if dir == "" || !filepath.IsAbs(dir) {
		home := getenv("HOME")
		if home == "" {
			return "", errors.New("neither " + env + " nor HOME is set; set VAULT_FILE and VAULT_IDENTITY")
		}
		dir = filepath.Join(home, fallback)
	}
	return filepath.Join(dir, "vault"), nil
}

// stateDir is where this machine remembers things about the vaults it
// opened: $XDG_STATE_HOME/vault (~/.local/state when unset).
func (a *app) stateDir() string {
	p, err := a.xdg("XDG_STATE_HOME", filepath.Join(".local", "state"), "")
	if err != nil {
		return ""
	}
	return filepath.Clean(p)
}

// rememberCreated makes the configuration name a vault 'vault init
// --vault' created elsewhere than the default place, unless it names
// another vault that is still there: VAULT_FILE is a setting of its own
// and needs no remembering, --vault is given once.
func (a *app) rememberCreated(path string) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return
	}
	if def, err := a.defaultVaultPath(); err != nil || def == abs {
		return
	}
	cfg, err := a.configPath()
	if err != nil {
		return
	}
	cur, err := a.configuredVault()
	if err != nil {
		a.say("warning: %v", err)
		return
	}
	if cur != "" && cur != abs {
		if _, err := os.Stat(cur); err == nil {
			a.note("commands without --vault still use %s (%s names it)", cur, cfg)
			return
		}
	}
	if cur == abs {
		return
	}
	if err := a.rememberVault(abs); err != nil {
		a.say("warning: could not write the configuration %s (%v); use --vault %s with every command", cfg, err, abs)
		return
	}
	a.note("%s names it now: commands find it without --vault", cfg)
}
