package main

import (
	"errors"
	"path/filepath"
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

// vaultPath is --vault, else $VAULT_FILE, else
// $XDG_DATA_HOME/vault/vault.db (~/.local/share when unset).
func (a *app) vaultPath() (string, error) {
	if a.vaultFlag != "" {
		return a.vaultFlag, nil
	}
	if p := a.getenv("VAULT_FILE"); p != "" {
		return p, nil
	}
	return a.xdg("XDG_DATA_HOME", filepath.Join(".local", "share"), "vault.db")
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
